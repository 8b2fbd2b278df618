/* main.c - portmortem's command line: parses options and calls the command (SPEC §4). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/commands.h"
#include "db/db.h"

static const char USAGE[] =
    "usage: portmortem [analyze] [OPTIONS] CAPTURE...   analyze captures, store, report\n"
    "       portmortem report [OPTIONS]                 report from an existing database\n"
    "       portmortem merge --db OUT SHARD.db...       merge databases made elsewhere\n"
    "       portmortem events [-f tsv|json] [-d DB] CAPTURE...  list every ICMP unreachable\n"
    "       portmortem explain LABEL|PORT|SERVICE       print a knowledge-base entry\n"
    "\n"
    "CAPTURE is a pcap or pcapng file (plain, gzip or zstd), a directory (walked\n"
    "recursively) or - for standard input.\n"
    "\n"
    "options:\n"
    "  -d, --db PATH          database (default ./portmortem.db)\n"
    "  -f, --format FMT       text, html, json or csv (events: tsv or json)\n"
    "  -o, --output PATH      write the report there (default standard output)\n"
    "  -j, --jobs N           captures analyzed at once (default: number of cores)\n"
    "      --filter BPF       libpcap filter applied to every packet first\n"
    "      --events           csv: one row per event instead of one per finding\n"
    "report filters (each repeatable: one option's values OR, different options AND):\n"
    "      --capture PATH|ID  findings with packets in that capture (its path, file\n"
    "                         name or id)\n"
    "      --since TIME       findings with errors at or after TIME (ISO 8601, UTC:\n"
    "                         2026-11-23T10:02:03Z, '2026-11-23 10:02', 2026-11-23)\n"
    "      --until TIME       findings with errors at or before TIME\n"
    "      --server IP[:PORT] findings about that server ([IPv6]:PORT)\n"
    "      --label LABEL      findings with that diagnosis (or secondary label)\n"
    "      --service NAME     findings of that service (dns, syslog, udp/5000, ...)\n"
    "      --max-endpoints N  bound of the UDP endpoint table (default 262144)\n"
    "      --libpcap          read classic pcap through libpcap too (slower)\n"
    "      --sha256           record each capture file's SHA-256 (in the database and\n"
    "                         every report's capture list), computed in the same read\n"
    "      --files-from FILE  analyze the captures listed in FILE too (- = standard\n"
    "                         input; one per line, or NUL-separated as find -print0 writes)\n"
    "  -v, --verbose          a line per capture stored, already stored or skipped\n"
    "  -q, --quiet            no progress, no summary on standard error\n"
    "  -h, --help             this help ('portmortem COMMAND --help': that command's)\n"
    "  -V, --version          the version\n"
    "\n"
    "exit status: 0 done; 1 done, but some input could not be read in full; 2 usage error;\n"
    "3 a database could not be opened, read or written, or was refused; 130/143\n"
    "interrupted by SIGINT/SIGTERM (the captures stored so far are kept)\n";

enum {
	OPT_FILTER = 256,
	OPT_EVENTS,
	OPT_MAX_EP,
	OPT_LIBPCAP,
	OPT_SHA256,
	OPT_CAPTURE,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_SERVER,
	OPT_LABEL,
	OPT_SERVICE,
	OPT_FILES_FROM
};

static const struct option LONG_OPTS[] = {
    {"db", required_argument, NULL, 'd'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"jobs", required_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"events", no_argument, NULL, OPT_EVENTS},
    {"max-endpoints", required_argument, NULL, OPT_MAX_EP},
    {"libpcap", no_argument, NULL, OPT_LIBPCAP},
    {"sha256", no_argument, NULL, OPT_SHA256},
    {"capture", required_argument, NULL, OPT_CAPTURE},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"server", required_argument, NULL, OPT_SERVER},
    {"label", required_argument, NULL, OPT_LABEL},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"files-from", required_argument, NULL, OPT_FILES_FROM},
    {"verbose", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

/* The command named on the command line (not the default analyze): its --help is its own. */
static bool g_named_cmd;
static enum command g_cmd;

static void try_help(void)
{
	if (g_named_cmd)
		fprintf(stderr, "try 'portmortem %s --help'\n", cli_command_name(g_cmd));
	else
		fprintf(stderr, "try 'portmortem --help'\n");
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "portmortem: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	try_help();
	return PM_EXIT_USAGE;
}

static int parse_format(const char *s, enum command cmd, enum report_format *out)
{
	static const struct {
		const char *name;
		enum report_format f;
	} F[] = {
	    {"text", REPORT_TEXT}, {"html", REPORT_HTML}, {"json", REPORT_JSON},
	    {"csv", REPORT_CSV},   {"tsv", REPORT_TEXT},
	};
	for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
		if (strcmp(s, F[i].name) != 0)
			continue;
		bool events_fmt = F[i].f == REPORT_JSON || strcmp(s, "tsv") == 0;
		if (cmd == CMD_EVENTS ? !events_fmt : strcmp(s, "tsv") == 0)
			return -1;
		*out = F[i].f;
		return 0;
	}
	return -1;
}

static int parse_count(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* --capture ... --service: the report filters (SPEC §4). */
static int parse_report_filter(int c, struct cli *cli)
{
	static const enum report_filter_kind KIND[] = {RF_CAPTURE, RF_SINCE, RF_UNTIL,
						       RF_SERVER,  RF_LABEL, RF_SERVICE};
	char errbuf[REPORT_ERRBUF_SIZE];
	if (report_filter_add(&cli->filter, KIND[c - OPT_CAPTURE], optarg, errbuf) < 0)
		return usage_error(errbuf, NULL);
	return 0;
}

/* One option: 0 when it is taken, else PM_EXIT_USAGE after saying why. */
static int parse_option(int c, struct cli *cli)
{
	long v;
	if (c >= OPT_CAPTURE && c <= OPT_SERVICE)
		return parse_report_filter(c, cli);
	switch (c) {
	case 'd':
		cli->db_path = optarg, cli->db_given = true;
		return 0;
	case 'o':
		cli->output = optarg;
		return 0;
	case 'q':
		cli->quiet = true;
		return 0;
	case OPT_FILTER: {
		char errbuf[CAP_ERRBUF_SIZE];
		if (cap_check_filter(optarg, errbuf) < 0)
			return usage_error(errbuf, NULL);
		cli->cap_opt.filter = optarg;
		return 0;
	}
	case OPT_EVENTS:
		cli->csv_events = true;
		return 0;
	case OPT_LIBPCAP:
		cli->cap_opt.force_libpcap = true;
		return 0;
	case OPT_SHA256:
		cli->cap_opt.sha256 = true;
		return 0;
	case OPT_FILES_FROM:
		cli->files_from = optarg;
		return 0;
	case 'v':
		cli->verbose = true;
		return 0;
	case 'f':
		if (cli->cmd == CMD_EVENTS && strcmp(optarg, "csv") == 0)
			return usage_error("events writes tsv or json; for the events as CSV: "
					   "portmortem report -f csv --events",
					   NULL);
		return parse_format(optarg, cli->cmd, &cli->format) < 0
			   ? usage_error("unknown format", optarg)
			   : 0;
	case 'j':
		if (parse_count(optarg, 1, 1024, &v) < 0)
			return usage_error("--jobs wants a number from 1 to 1024", optarg);
		cli->jobs = (int)v;
		return 0;
	case OPT_MAX_EP:
		if (parse_count(optarg, 64, 1L << 30, &v) < 0)
			return usage_error("--max-endpoints wants a number from 64", optarg);
		cli->max_endpoints = (size_t)v;
		return 0;
	case 'h':
		if (g_named_cmd)
			cli_command_help(cli->cmd, stdout);
		else
			fputs(USAGE, stdout);
		exit(0);
	case 'V':
		printf("portmortem %s\n", PM_VERSION);
		exit(0);
	default: /* getopt said which option on standard error, as "portmortem: ..." */
		try_help();
		return PM_EXIT_USAGE;
	}
}

/* The command word of argv[1], removed from argv; CMD_ANALYZE when there is none. A near
 * miss of a command that is not an existing path ("anaylze", "reprot") is a usage error,
 * said before anything is opened: returns -1 with *status set. `help [COMMAND]` prints. */
static int command_of(int *argc, char ***argv, enum command *cmd, int *status)
{
	*cmd = CMD_ANALYZE;
	if (*argc < 2)
		return 0;
	const char *word = (*argv)[1];
	int c = cli_command_by_name(word);
	if (c < 0) {
		const char *near = cli_near_command(word);
		if (!near)
			return 0; /* an option, or a capture */
		fprintf(stderr, "portmortem: unknown command '%s'; did you mean '%s'?\n", word,
			near);
		fprintf(stderr, "try 'portmortem --help'\n");
		*status = 2;
		return -1;
	}
	(*argv)[1] = (*argv)[0];
	(*argc)--;
	(*argv)++;
	*cmd = (enum command)c;
	g_named_cmd = true;
	g_cmd = *cmd;
	if (*cmd != CMD_HELP)
		return 0;
	*status = 0;
	if (*argc < 2 || strcmp((*argv)[1], "-h") == 0 || strcmp((*argv)[1], "--help") == 0) {
		fputs(USAGE, stdout);
	} else if ((c = cli_command_by_name((*argv)[1])) >= 0 && *argc == 2) {
		cli_command_help((enum command)c, stdout);
	} else {
		const char *near = cli_near_command((*argv)[1]);
		fprintf(stderr, "portmortem: help: no command '%s'%s%s%s\n", (*argv)[1],
			near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		fprintf(stderr, "try 'portmortem --help'\n");
		*status = 2;
	}
	return -1;
}

/* The long name of option `c` (as getopt returns it) and its short letter, or '\0'. */
static const char *option_name(int c, char *short_name)
{
	*short_name = c < 128 ? (char)c : '\0';
	for (const struct option *o = LONG_OPTS; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

int main(int argc, char **argv)
{
	struct cli cli = {
	    .db_path = "portmortem.db", .format = REPORT_TEXT, .max_endpoints = 262144};
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	cli.jobs = cores > 0 ? (int)(cores > 64 ? 64 : cores) : 1;
	/* SQLite counts every allocation under one process-wide mutex unless told not to: the
	 * workers, each with its own connections, waited on each other for it. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	int status = 0;
	if (argc > 0)
		argv[0] =
		    (char *)"portmortem"; /* getopt's messages name the program, not its path */
	if (command_of(&argc, &argv, &cli.cmd, &status) < 0)
		return status;
	const char *given[64], *name; /* the options given, by long name */
	char shorts[64];
	int n_given = 0, c;
	while ((c = getopt_long(argc, argv, "d:f:o:j:qvhV", LONG_OPTS, NULL)) != -1) {
		if (parse_option(c, &cli) != 0)
			return PM_EXIT_USAGE;
		char letter;
		name = option_name(c, &letter);
		if (n_given < 64) {
			shorts[n_given] = letter;
			given[n_given++] = name;
		}
	}
	cli.args = argv + optind;
	cli.n_args = argc - optind;
	cli.progress = !cli.quiet && isatty(STDERR_FILENO);
	db_set_wait_notes(!cli.quiet);
	cli_warn_idle(&cli, given, shorts, n_given);
	bool has_db = false;
	for (int i = 0; i < n_given; i++)
		has_db |= strcmp(given[i], "db") == 0;
	if (cli.cmd == CMD_MERGE && !has_db)
		return usage_error("merge wants the database to merge into: portmortem merge -d "
				   "OUT.db SHARD.db...",
				   NULL);
	switch (cli.cmd) {
	case CMD_EXPLAIN:
		if (cli.n_args == 0)
			return kb_explain_list(stdout) < 0 ? 1 : 0;
		if (cli.n_args != 1)
			return usage_error(
			    "explain wants one LABEL, PORT or SERVICE (quote a label "
			    "with spaces)",
			    NULL);
		if (kb_explain_topic(cli.args[0], stdout) < 0) {
			fprintf(stderr,
				"portmortem: nothing in the knowledge base for '%s'; it "
				"holds:\n\n",
				cli.args[0]);
			kb_explain_list(stderr);
			return PM_EXIT_USAGE;
		}
		return 0;
	case CMD_REPORT:
		return cli.n_args ? usage_error("report takes no CAPTURE", cli.args[0])
				  : cmd_report(&cli);
	case CMD_MERGE:
		return cli.n_args ? cmd_merge(&cli)
				  : usage_error("merge wants SHARD.db files", NULL);
	case CMD_EVENTS:
		return cli.n_args ? cmd_events(&cli) : usage_error("events wants a CAPTURE", NULL);
	case CMD_ANALYZE:
	default:
		if (cli.files_from && strcmp(cli.files_from, "-") == 0)
			for (int i = 0; i < cli.n_args; i++)
				if (strcmp(cli.args[i], "-") == 0)
					return usage_error(
					    "standard input cannot be both a capture and "
					    "--files-from -",
					    NULL);
		return cli.n_args || cli.files_from ? cmd_analyze(&cli)
						    : usage_error("no CAPTURE given", NULL);
	}
}
