/* cli.c - the words of the command line: command names, "did you mean", each command's help, and
 * warnings for options that do nothing in the mode given (SPEC §4). */
#include "analyzer/commands.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const struct {
	const char *name;
	enum command cmd;
} COMMANDS[] = {
    {"analyze", CMD_ANALYZE}, {"report", CMD_REPORT},	{"merge", CMD_MERGE},
    {"events", CMD_EVENTS},   {"explain", CMD_EXPLAIN}, {"help", CMD_HELP},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

const char *cli_command_name(enum command cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (COMMANDS[i].cmd == cmd)
			return COMMANDS[i].name;
	return "analyze";
}

int cli_command_by_name(const char *word)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(word, COMMANDS[i].name) == 0)
			return (int)COMMANDS[i].cmd;
	return -1;
}

/* Edit distance with adjacent transpositions (optimal string alignment), case ignored:
 * "anaylze" and "reprot" are 1 from their command. Words longer than 31 bytes are far. */
static int edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	int d[32][32];
	if (n > 31 || m > 31)
		return 99;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int cost = (a[i - 1] | 0x20) != (b[j - 1] | 0x20);
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == (b[j - 1] | 0x20) && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m];
}

const char *cli_near_command(const char *word)
{
	struct stat sb;
	const char *best = NULL;
	int best_d = 3;
	if (!word[0] || word[0] == '-' || strchr(word, '/') || stat(word, &sb) == 0)
		return NULL; /* an option, standard input, a path: a capture */
	for (size_t i = 0; i < N_COMMANDS; i++) {
		int d = edit_distance(word, COMMANDS[i].name);
		if (d < best_d) {
			best_d = d;
			best = COMMANDS[i].name;
		}
	}
	return best;
}

static const char HELP_ANALYZE[] =
    "usage: portmortem [analyze] [OPTIONS] CAPTURE...\n"
    "\n"
    "Reads the captures, stores their ICMP destination unreachables, the UDP flows they\n"
    "touch and the findings in the database, and prints the report of these captures (those\n"
    "already stored included, never other captures that share the database).\n"
    "CAPTURE is a pcap or pcapng file (plain, gzip or zstd), a directory (walked\n"
    "recursively) or - for standard input.\n"
    "\n"
    "options:\n"
    "  -d, --db PATH          database (default ./portmortem.db; :memory: keeps none)\n"
    "  -f, --format FMT       text (default), html, json or csv\n"
    "  -o, --output PATH      write the report there (default standard output)\n"
    "  -j, --jobs N           captures analyzed at once (default: number of cores)\n"
    "      --filter BPF       libpcap filter applied to every packet first\n"
    "      --events           with -f csv: one row per event instead of one per finding\n"
    "      --max-endpoints N  bound of the UDP endpoint table (default 262144)\n"
    "      --libpcap          read classic pcap through libpcap too (slower)\n"
    "      --sha256           record each capture file's SHA-256\n"
    "  -q, --quiet            no progress, no notes on standard error\n"
    "  -h, --help             this help\n";

static const char HELP_REPORT[] =
    "usage: portmortem report [OPTIONS]\n"
    "\n"
    "Reports on every capture of an existing database. It only reads: nothing in the\n"
    "database is written (findings that are not current are recomputed in memory).\n"
    "\n"
    "options:\n"
    "  -d, --db PATH          database (default ./portmortem.db)\n"
    "  -f, --format FMT       text (default), html, json or csv\n"
    "  -o, --output PATH      write the report there (default standard output)\n"
    "      --events           with -f csv: one row per event instead of one per finding\n"
    "  -q, --quiet            no notes on standard error\n"
    "  -h, --help             this help\n";

static const char HELP_MERGE[] =
    "usage: portmortem merge -d OUT.db [OPTIONS] SHARD.db...\n"
    "\n"
    "Copies into OUT.db every capture of the shards (databases made elsewhere with\n"
    "'portmortem analyze -d SHARD.db') that it does not hold yet, recomputes the findings\n"
    "and prints the report of all of OUT.db. A shard or capture that cannot be merged is\n"
    "named, the rest is still merged, and no report is printed (exit status 3).\n"
    "\n"
    "options:\n"
    "  -d, --db OUT.db        the database merged into (required)\n"
    "  -f, --format FMT       text (default), html, json or csv\n"
    "  -o, --output PATH      write the report there (-o /dev/null: none)\n"
    "      --events           with -f csv: one row per event instead of one per finding\n"
    "  -q, --quiet            no notes on standard error\n"
    "  -h, --help             this help\n";

static const char HELP_EVENTS[] =
    "usage: portmortem events [OPTIONS] CAPTURE...\n"
    "\n"
    "Prints every ICMP destination unreachable of the captures (every code), one per line in\n"
    "capture order, before any diagnosis, with the Community ID of the quoted flow. Nothing\n"
    "is stored. With -d, each event also gets the finding that claimed it in that database\n"
    "(finding_id, diagnosis), for captures analyzed into it from the same unchanged file.\n"
    "\n"
    "options:\n"
    "  -d, --db PATH          a database the captures were analyzed into (read only)\n"
    "  -f, --format FMT       tsv (default: a header line, - for absent fields) or json\n"
    "                         (one object per line); for CSV: portmortem report -f csv --events\n"
    "      --filter BPF       libpcap filter applied to every packet first\n"
    "      --libpcap          read classic pcap through libpcap too (slower)\n"
    "  -h, --help             this help\n";

static const char HELP_EXPLAIN[] =
    "usage: portmortem explain [LABEL|PORT|SERVICE]\n"
    "\n"
    "Prints a knowledge-base entry: a diagnosis label (service-down, or \"service down\"),\n"
    "a UDP port (53) or a service (dns, ntp). Without an argument, lists the entries.\n"
    "\n"
    "options:\n"
    "  -h, --help             this help\n";

static const char HELP_HELP[] =
    "usage: portmortem help [COMMAND]\n"
    "\n"
    "Prints the help of COMMAND (analyze, report, merge, events, explain), or of portmortem.\n";

void cli_command_help(enum command cmd, FILE *out)
{
	static const char *const HELP[] = {
	    [CMD_ANALYZE] = HELP_ANALYZE, [CMD_REPORT] = HELP_REPORT, [CMD_MERGE] = HELP_MERGE,
	    [CMD_EXPLAIN] = HELP_EXPLAIN, [CMD_EVENTS] = HELP_EVENTS, [CMD_HELP] = HELP_HELP,
	};
	bool known = (unsigned)cmd < sizeof HELP / sizeof HELP[0];
	fputs(known ? HELP[cmd] : HELP_ANALYZE, out);
}

/* Options that do nothing in a mode: (command, long option name, why). */
static const struct {
	enum command cmd;
	const char *opt, *why;
} IDLE[] = {
    {CMD_REPORT, "sha256", "captures are read only by analyze"},
    {CMD_REPORT, "filter",
     "captures are read only by analyze (a filter used then is part "
     "of the capture's identity)"},
    {CMD_REPORT, "jobs", "captures are read only by analyze"},
    {CMD_REPORT, "max-endpoints", "captures are read only by analyze"},
    {CMD_REPORT, "libpcap", "captures are read only by analyze"},
    {CMD_MERGE, "sha256", "merge copies what the shards stored"},
    {CMD_MERGE, "filter", "merge copies what the shards stored"},
    {CMD_MERGE, "jobs", "merge copies what the shards stored"},
    {CMD_MERGE, "max-endpoints", "merge copies what the shards stored"},
    {CMD_MERGE, "libpcap", "merge copies what the shards stored"},
    {CMD_EVENTS, "output", "events writes to standard output"},
    {CMD_EVENTS, "jobs", "events reads one capture at a time"},
    {CMD_EVENTS, "events", "events lists events already"},
    {CMD_EVENTS, "max-endpoints", "events keeps no endpoint table"},
    {CMD_EVENTS, "sha256", "events stores nothing"},
    {CMD_EVENTS, "quiet", "events prints no notes"},
    {CMD_EXPLAIN, "db", "explain prints the knowledge base"},
    {CMD_EXPLAIN, "format", "explain prints text"},
    {CMD_EXPLAIN, "output", "explain writes to standard output"},
    {CMD_EXPLAIN, "jobs", "explain reads no capture"},
    {CMD_EXPLAIN, "filter", "explain reads no capture"},
    {CMD_EXPLAIN, "events", "explain prints the knowledge base"},
    {CMD_EXPLAIN, "max-endpoints", "explain reads no capture"},
    {CMD_EXPLAIN, "libpcap", "explain reads no capture"},
    {CMD_EXPLAIN, "sha256", "explain reads no capture"},
    {CMD_EXPLAIN, "quiet", "explain prints no notes"},
};

/* The form the user would recognise: "-o/--output" for an option with a short name. */
static void option_text(const char *name, char short_name, char *buf, size_t len)
{
	if (short_name)
		snprintf(buf, len, "-%c/--%s", short_name, name);
	else
		snprintf(buf, len, "--%s", name);
}

int cli_warn_idle(const struct cli *cli, const char *const *given, const char *shorts, int n_given)
{
	int n = 0;
	char opt[64];
	for (int g = 0; g < n_given; g++) {
		bool dup = false;
		for (int k = 0; k < g; k++)
			dup |= strcmp(given[k], given[g]) == 0;
		if (dup)
			continue;
		option_text(given[g], shorts[g], opt, sizeof opt);
		for (size_t i = 0; i < sizeof IDLE / sizeof IDLE[0]; i++)
			if (IDLE[i].cmd == cli->cmd && strcmp(IDLE[i].opt, given[g]) == 0) {
				fprintf(stderr,
					"portmortem: warning: %s does nothing with '%s' (%s); "
					"ignored\n",
					opt, cli_command_name(cli->cmd), IDLE[i].why);
				n++;
			}
		if (strcmp(given[g], "events") == 0 && cli->format != REPORT_CSV &&
		    cli->cmd != CMD_EVENTS && cli->cmd != CMD_EXPLAIN) {
			fprintf(stderr,
				"portmortem: warning: --events does nothing without -f csv (it "
				"makes the CSV report one row per event); ignored\n");
			n++;
		}
	}
	return n;
}
