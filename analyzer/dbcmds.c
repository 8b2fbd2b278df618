/* dbcmds.c - `portmortem report` and `portmortem merge`: commands that start from databases. */
#include "analyzer/commands.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"

int cmd_report(const struct cli *cli)
{
	char errbuf[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	if (access(cli->db_path, R_OK) != 0) {
		fprintf(stderr, "portmortem: %s: no such database (run 'portmortem analyze' first)\n",
			cli->db_path);
		return 1;
	}
	if (db_open(cli->db_path, &db, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s\n", errbuf);
		return 1;
	}
	int st = pm_finish(db, cli, NULL);
	sqlite3_close(db);
	return st;
}

/* Copies every capture of one shard into the open output database. 0 or 1. */
static int merge_one(sqlite3 *db, const char *shard, const struct cli *cli)
{
	char errbuf[DB_ERRBUF_SIZE];
	sqlite3 *check = NULL;
	int copied = 0, skipped = 0;
	if (access(shard, R_OK) != 0) {
		fprintf(stderr, "portmortem: %s: cannot read the shard\n", shard);
		return 1;
	}
	/* Opening it first validates the file and brings an older schema up to date. */
	if (db_open(shard, &check, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s: %s\n", shard, errbuf);
		return 1;
	}
	sqlite3_close(check);
	if (db_attach(db, shard, "shard", errbuf) < 0) {
		fprintf(stderr, "portmortem: %s: %s\n", shard, errbuf);
		return 1;
	}
	int rc = db_copy_captures(db, "shard", "main", &copied, &skipped, errbuf);
	if (rc < 0)
		fprintf(stderr, "portmortem: %s: %s\n", shard, errbuf);
	else if (!cli->quiet)
		fprintf(stderr, "portmortem: %s: %d capture%s merged, %d already present\n", shard,
			copied, copied == 1 ? "" : "s", skipped);
	char ignore[DB_ERRBUF_SIZE];
	db_detach(db, "shard", ignore);
	return rc < 0 ? 1 : 0;
}

int cmd_merge(const struct cli *cli)
{
	char errbuf[DB_ERRBUF_SIZE];
	sqlite3 *db = NULL;
	int status = 0;
	if (db_open(cli->db_path, &db, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s\n", errbuf);
		return 1;
	}
	for (int i = 0; i < cli->n_args; i++) {
		if (strcmp(cli->args[i], cli->db_path) == 0) {
			fprintf(stderr, "portmortem: %s: is the output database\n", cli->args[i]);
			status = 1;
			continue;
		}
		status |= merge_one(db, cli->args[i], cli);
	}
	int st = pm_finish(db, cli, NULL);
	sqlite3_close(db);
	return st ? st : status;
}
