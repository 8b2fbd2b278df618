/* report_fixture.h - the report tests' hand-made database (report_fixture.c) and helpers. */
#ifndef PM_TEST_REPORT_FIXTURE_H
#define PM_TEST_REPORT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/report.h"

/* The fixture database (captures, events with hostile names, flows, findings) made at `path`
 * (":memory:" for none); the caller closes it. */
sqlite3 *pmt_db_open(const char *path);
/* pmt_db_open(":memory:"). */
sqlite3 *pmt_db_new(void);
/* The report of `db` in format `fmt` as a heap string (caller frees); its length in *len
 * when len is not NULL. Fails the test when report_write() fails. */
char *pmt_render(sqlite3 *db, enum report_format fmt, bool color, bool csv_events, size_t *len);
/* Whether s[0..n) is valid UTF-8 (no overlong 2-byte forms). */
bool pmt_utf8_valid(const char *s, size_t n);

#endif
