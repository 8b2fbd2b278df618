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

enum command { CMD_ANALYZE, CMD_REPORT, CMD_MERGE, CMD_EXPLAIN, CMD_EVENTS, CMD_HELP };

struct cli {
	enum command cmd;
	const char *db_path;	     /* -d/--db */
	bool db_given;		     /* -d was given (events: look the events up there) */
	enum report_format format;   /* -f/--format */
	const char *output;	     /* -o/--output, NULL = stdout */
	int jobs;		     /* -j/--jobs */
	bool quiet;		     /* -q/--quiet */
	bool verbose;		     /* -v/--verbose: a line per capture stored, known, skipped */
	const char *files_from;	     /* --files-from: a list of captures ("-": stdin) */
	bool csv_events;	     /* --events (csv) */
	bool progress;		     /* a progress line on stderr (a terminal, not quiet) */
	size_t max_endpoints;	     /* --max-endpoints */
	struct cap_options cap_opt;  /* --filter, --libpcap */
	struct report_filter filter; /* --capture, --since, --until, --server, --label, --service */
	char **args;		     /* captures, shards, or the explain topic */
	int n_args;
};

/* Exit statuses (SPEC §4, README "Exit status"); a signal gives 128 + its number. */
enum {
	PM_EXIT_OK = 0,	   /* done */
	PM_EXIT_INPUT = 1, /* done, but some input could not be read in full */
	PM_EXIT_USAGE = 2, /* usage error */
	PM_EXIT_DB = 3,	   /* a database could not be opened, read or written, or was refused */
};

/* Each returns the process exit status (PM_EXIT_*, or 128 + a signal's number). */
int cmd_analyze(const struct cli *cli);
int cmd_report(const struct cli *cli);
int cmd_merge(const struct cli *cli);
int cmd_events(const struct cli *cli);

/* The words of the command line (cli.c). */
#include <stdio.h>
/* The command's name ("analyze", ...), and the command a word names exactly (-1: none). */
const char *cli_command_name(enum command cmd);
int cli_command_by_name(const char *word);
/* The command that `word` (the first argument, not a command) is a near miss of (edit
 * distance 2 or less: "anaylze", "reprot"), or NULL: also when it is an option, "-" or the
 * path of an existing file or directory, which are captures. */
const char *cli_near_command(const char *word);
/* The help of one command (usage, what it does, its options). */
void cli_command_help(enum command cmd, FILE *out);
/* Warns on standard error about each option given (long names, with their short letters or
 * '\0' in `shorts`) that does nothing with cli->cmd: --sha256 with report, --events without
 * -f csv, -o with explain, ... Returns the number of warnings; the exit status is the
 * caller's. */
int cli_warn_idle(const struct cli *cli, const char *const *given, const char *shorts, int n_given);

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

#endif
