/* dbcmds.c - `portmortem report` and `portmortem merge`: commands that start from databases. */
#include "analyzer/commands.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/diagnose.h"
#include "db/db.h"
#include "dissectors/dissect.h"

/* Reads only: the database is opened read-only and the findings are computed in temp tables
 * (db_open_readonly), so evidence kept read-only (mode 444, a read-only mount) is reportable
 * and nothing in the file changes. */
int cmd_report(const struct cli *cli)
{
	char errbuf[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	int st = PM_EXIT_DB;
	pm_catch_signals();
	if (access(cli->db_path, R_OK) != 0) {
		fprintf(stderr,
			"portmortem: %s: no such database (run 'portmortem analyze' first, "
			"or name the database with -d PATH)\n",
			cli->db_path);
		return PM_EXIT_DB;
	}
	int rc = db_open_readonly(cli->db_path, &db, errbuf);
	if (rc == -2 && access(cli->db_path, W_OK) == 0) {
		/* an older schema, in a file we may write: upgraded as before, then read */
		sqlite3 *upgraded = NULL;
		if (db_open(cli->db_path, &upgraded, errbuf) == 0) {
			sqlite3_close(upgraded);
			rc = db_open_readonly(cli->db_path, &db, errbuf);
		}
	}
	/* Findings computed from the captures the database holds now are reused as they are;
	 * otherwise the diagnosis writes into temp copies of what it writes. */
	if (rc == 0 && !diagnose_current(db) && db_shadow_written(db, errbuf) < 0)
		rc = -1;
	if (rc < 0) {
		fprintf(stderr, "portmortem: %s\n", errbuf);
		goto done;
	}
	st = pm_finish(db, cli, NULL);
	if (pm_signal()) {
		fprintf(stderr, "portmortem: interrupted: no report written\n");
		st = 128 + pm_signal();
	}
done:
	sqlite3_close(db);
	return st;
}

struct merge_err {
	const char *shard;
	int failed;
};

static void capture_failed(const char *capture_path, enum copy_result result, const char *err,
			   void *arg)
{
	struct merge_err *m = arg;
	if (result != COPY_FAILED)
		return;
	fprintf(stderr, "portmortem: %s: capture %s not merged: %s\n", m->shard, capture_path, err);
	m->failed++;
}

/* Copies every capture of one shard into the open output database; a capture that fails
 * is named and the others are still merged. PM_EXIT_OK or PM_EXIT_DB. */
static int merge_one(sqlite3 *db, const char *shard, const struct cli *cli)
{
	char errbuf[DB_ERRBUF_SIZE];
	sqlite3 *check = NULL;
	struct copy_counts k;
	struct merge_err m = {.shard = shard};
	if (access(shard, R_OK) != 0) {
		fprintf(stderr, "portmortem: %s: cannot read the shard\n", shard);
		return PM_EXIT_DB;
	}
	/* Opening it first refuses planted objects and brings an older schema up to date. */
	if (db_open(shard, &check, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s: %s\n", shard, errbuf);
		return PM_EXIT_DB;
	}
	sqlite3_close(check);
	int rc = db_attach(db, shard, "shard", errbuf);
	if (rc == 0)
		rc = db_check_objects(db, "shard", shard, errbuf);
	if (rc == 0)
		rc = db_copy_captures(db, "shard", "main", &k, capture_failed, &m, errbuf);
	if (rc < 0)
		fprintf(stderr, "portmortem: %s: %s\n", shard, errbuf);
	else if (!cli->quiet)
		fprintf(stderr, "portmortem: %s: %d %s merged, %d already present%s\n", shard,
			k.copied, pm_plural(k.copied, "capture", "captures"), k.skipped,
			k.failed ? ", some failed" : "");
	char ignore[DB_ERRBUF_SIZE];
	db_detach(db, "shard", ignore);
	return rc < 0 || k.failed ? PM_EXIT_DB : PM_EXIT_OK;
}

/* Whether two paths name one file (the same device and inode). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return strcmp(a, b) == 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cmd_merge(const struct cli *cli)
{
	char errbuf[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	int status = PM_EXIT_OK, merged = 0;
	pm_catch_signals();
	for (int i = 0; i < cli->n_args; i++)
		if (same_file(cli->args[i], cli->db_path)) {
			fprintf(stderr,
				"portmortem: %s: cannot merge a database into itself\n"
				"try 'portmortem --help'\n",
				cli->args[i]);
			return PM_EXIT_USAGE;
		}
	if (db_open(cli->db_path, &db, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s\n", errbuf);
		return PM_EXIT_DB;
	}
	for (int i = 0; i < cli->n_args && !pm_signal(); i++) {
		if (merge_one(db, cli->args[i], cli) != PM_EXIT_OK)
			status = PM_EXIT_DB;
		merged += !pm_signal();
	}
	/* A merge that failed in part prints no report: it would read as the whole story. The
	 * findings are recomputed by the next analyze, merge or report. */
	if (status != PM_EXIT_OK && !pm_signal())
		fprintf(stderr,
			"portmortem: merge into %s incomplete (see above): no report written; "
			"the captures merged are kept\n",
			cli->db_path);
	int st = pm_signal() || status != PM_EXIT_OK ? 0 : pm_finish(db, cli, NULL);
	sqlite3_close(db);
	if (pm_signal()) {
		fprintf(stderr,
			"portmortem: interrupted: %d of %d %s merged (the captures copied are"
			" kept), no report written; run again to finish\n",
			merged, cli->n_args, pm_plural(cli->n_args, "shard", "shards"));
		return 128 + pm_signal();
	}
	return st ? st : status;
}
