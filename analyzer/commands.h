/* commands.h - the parsed command line and the commands main() dispatches to. */
#ifndef PM_COMMANDS_H
#define PM_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/capture.h"
#include "dissectors/dissect.h"
#include "reports/report.h"

#define PM_VERSION "0.1.0"

enum command { CMD_ANALYZE, CMD_REPORT, CMD_MERGE, CMD_EXPLAIN, CMD_EVENTS };

struct cli {
	enum command cmd;
	const char *db_path;		/* -d/--db */
	enum report_format format;	/* -f/--format */
	const char *output;		/* -o/--output, NULL = stdout */
	int jobs;			/* -j/--jobs */
	bool quiet;			/* -q/--quiet */
	bool verbose;			/* -v/--verbose: a line per capture stored, known, skipped */
	const char *files_from;		/* --files-from: a list of captures ("-": stdin) */
	bool csv_events;		/* --events (csv) */
	bool progress;			/* a progress line on stderr (a terminal, not quiet) */
	size_t max_endpoints;		/* --max-endpoints */
	struct cap_options cap_opt;	/* --filter, --libpcap */
	char **args;			/* captures, shards, or the explain topic */
	int n_args;
};

/* Exit statuses (SPEC §4, README "Exit status"); a signal gives 128 + its number. */
enum {
	PM_EXIT_OK = 0,		/* done */
	PM_EXIT_INPUT = 1,	/* done, but some input could not be read in full */
	PM_EXIT_USAGE = 2,	/* usage error */
	PM_EXIT_DB = 3,		/* a database could not be opened, read or written, or was refused */
};

/* Each returns the process exit status (PM_EXIT_*, or 128 + a signal's number). */
int cmd_analyze(const struct cli *cli);
int cmd_report(const struct cli *cli);
int cmd_merge(const struct cli *cli);
int cmd_events(const struct cli *cli);

/* Shared helpers. */
#include <sqlite3.h>
/* Rebuilds the findings of `db` (when its captures changed) and writes the report the command
 * line asks for, for the captures whose identities (content_hash) are in `scope`, or all when
 * NULL. PM_EXIT_OK, or PM_EXIT_DB after saying why on standard error. */
struct capture_list;
int pm_finish(sqlite3 *db, const struct cli *cli, const struct capture_list *scope);
/* SIGINT and SIGTERM only set a flag (analyze.c) that reads, SQLite statements and the
 * commands' loops look at; call before opening databases. pm_signal(): the signal, or 0. */
void pm_catch_signals(void);
int pm_signal(void);
const char *pm_proto_name(uint8_t proto);	/* "udp", "tcp", ... or NULL */
void pm_anomaly_list(uint64_t bits, bool json, char *buf, size_t buf_len);
size_t pm_hint_bytes(const struct app_hint *h, char *buf, size_t buf_len);

#endif
