/* fuzz_report.c - libFuzzer target over the whole path: capture bytes to every report format. */
// Input: a capture file (pcap or pcapng, plain, gzip or zstd: detected from the bytes, as
// `analyze` does). It is read, dissected, correlated and stored in an in-memory database,
// diagnosed, and written as text, HTML, JSON and CSV (findings and events). Besides the
// sanitizers, it traps when a stage fails on a capture the previous stage accepted, or a
// report is not what its format promises (no control characters outside tabs and line
// ends, valid JSON framing).

#include <stdlib.h>
#include <string.h>

#include "analyzer/corr.h"
#include "analyzer/diagnose.h"
#include "analyzer/scan.h"
#include "analyzer/store.h"
#include "db/db.h"
#include "reports/report.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the capture at path into db; traps when a stage fails that must not. */
static void store_capture(sqlite3 *db, const char *path)
{
	char errbuf[CAP_ERRBUF_SIZE > DB_ERRBUF_SIZE ? CAP_ERRBUF_SIZE : DB_ERRBUF_SIZE], hash[33];
	struct cap_reader *r = NULL;
	struct cap_options o = {0};
	struct scan_stats st;
	if (cap_open(path, &o, &r, errbuf) < 0)
		return;
	struct store_job f = {.corr = corr_new(256, 1024)};
	f.store = f.corr ? store_begin(db, "main", "fuzz.pcap", NULL, errbuf) : NULL;
	if (!f.store)
		__builtin_trap();
	int rc = scan_capture(r, &st, store_scanned, &f, NULL);
	if (rc == SCAN_DB_ERROR)
		__builtin_trap();
	cap_content_hash(r, hash);
	struct capture_facts facts = store_facts(r, rc, &st, f.corr);
	facts.hash = hash;
	if (store_finish(f.store, &facts, errbuf) < 0)
		__builtin_trap();
	corr_free(f.corr);
	cap_close(r);
}

static void check_output(const char *buf, size_t len, enum report_format fmt)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
			__builtin_trap();
	}
	if (fmt == REPORT_JSON && (len < 2 || buf[0] != '{' || memchr(buf, '}', len) == NULL))
		__builtin_trap();
	if (fmt == REPORT_HTML && (len < 15 || strncmp(buf, "<!DOCTYPE html>", 15) != 0))
		__builtin_trap();
}

static void write_reports(sqlite3 *db)
{
	static const struct report_options OPTS[] = {
	    {.format = REPORT_TEXT, .version = "fuzz"},
	    {.format = REPORT_HTML, .version = "fuzz"},
	    {.format = REPORT_JSON, .version = "fuzz"},
	    {.format = REPORT_CSV, .version = "fuzz"},
	    {.format = REPORT_CSV, .csv_events = true, .version = "fuzz"},
	};
	char errbuf[REPORT_ERRBUF_SIZE];
	for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		if (!out)
			return;
		int rc = report_write(db, &OPTS[i], out, errbuf);
		fclose(out);
		if (rc < 0)
			__builtin_trap();
		check_output(buf, len, OPTS[i].format);
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], errbuf[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	int fd = fuzz_memfd(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	if (db_open(":memory:", &db, errbuf) < 0)
		__builtin_trap();
	store_capture(db, path);
	close(fd);
	if (diagnose_rebuild(db, &(struct diagnose_kb){kb_service_for_port}, errbuf) < 0)
		__builtin_trap();
	write_reports(db);
	sqlite3_close(db);
	return 0;
}
