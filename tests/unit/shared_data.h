/* shared_data.h - where the unit tests find the public captures kept beside the repository:
 * $SHARED, else ../shared (relative to the repository root, where the suite runs), as
 * tests/tools/harness.sh finds them for the scripts. CI lays ../shared beside its clone; a
 * newcomer's clone has none, and the tests that need it are skipped, saying why. */
#ifndef PM_TESTS_SHARED_DATA_H
#define PM_TESTS_SHARED_DATA_H

/* The path of REL (e.g. "corpus/tcpdump/afs.pcap") in the shared folder. The string lives
 * in one of 8 static buffers used in turn: good until 8 more calls. */
const char *shared_path(const char *rel);

/* Returns when the shared folder SET (e.g. "corpus") can be read. Otherwise skips the calling
 * test with "reading WHAT (DIR not found ...)", the message tests/tools/run-unit.sh counts
 * skips by; with REQUIRE_SHARED=1 in the environment (CI) the test fails instead. */
void need_shared(const char *set, const char *what);

#endif
