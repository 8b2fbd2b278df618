/* owner.c - whose SQLite file this is: PRAGMA application_id, and refusing other programs' files.
 */
#include "db/db.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One integer read by a PRAGMA or a query; 0 or -1 with the SQLite error code in *code. */
static int read_int(sqlite3 *db, const char *sql, int64_t *out, int *code)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	*code = rc == SQLITE_OK ? SQLITE_OK : sqlite3_extended_errcode(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The application_id as four characters when they are printable ("PMrt"), for messages. */
static void app_id_text(uint32_t id, char *buf, size_t len)
{
	char c[5];
	for (int i = 0; i < 4; i++) {
		c[i] = (char)(id >> (24 - 8 * i));
		if (c[i] < 0x20 || c[i] > 0x7e) {
			snprintf(buf, len, "0x%08x", id);
			return;
		}
	}
	c[4] = '\0';
	snprintf(buf, len, "0x%08x, \"%s\"", id, c);
}

/* A few names of the file's tables, for the message that refuses it. */
static void table_names(sqlite3 *db, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	size_t used = 0;
	int n = 0;
	buf[0] = '\0';
	if (sqlite3_prepare_v2(db,
			       "SELECT name FROM main.sqlite_schema WHERE type = 'table'"
			       " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW && used + 8 < len) {
		if (n++ == 4) {
			snprintf(buf + used, len - used, ", ...");
			break;
		}
		used += (size_t)snprintf(buf + used, len - used, "%s\"%.40s\"", n > 1 ? ", " : "",
					 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

int db_check_owner(sqlite3 *db, const char *path, bool *stamp, char *errbuf)
{
	int64_t app = 0, n_objects = 0, ours = 0;
	int code = SQLITE_OK;
	*stamp = false;
	if (read_int(db, "PRAGMA main.application_id", &app, &code) < 0 ||
	    read_int(db, "SELECT COUNT(*) FROM main.sqlite_schema", &n_objects, &code) < 0 ||
	    read_int(db,
		     "SELECT COUNT(*) FROM main.sqlite_schema WHERE type = 'table' AND"
		     " name = 'captures'",
		     &ours, &code) < 0) {
		if ((code & 0xff) == SQLITE_NOTADB)
			snprintf(errbuf, DB_ERRBUF_SIZE,
				 "%s: not a SQLite database (is it a capture? "
				 "the database is given with -d PATH)",
				 path);
		else
			snprintf(errbuf, DB_ERRBUF_SIZE, "%s: cannot read it: %s", path,
				 sqlite3_errmsg(db));
		return -1;
	}
	uint32_t id = (uint32_t)app;
	if (id != 0 && id != DB_APPLICATION_ID) {
		char text[32];
		app_id_text(id, text, sizeof text);
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "%s: not a portmortem database (its application_id "
			 "is %s, another program's file): refused, nothing written; give "
			 "portmortem its own file with -d PATH",
			 path, text);
		return -1;
	}
	if (n_objects > 0 && ours == 0) {
		char names[200];
		table_names(db, names, sizeof names);
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "%s: not a portmortem database (it holds another "
			 "program's tables: %s): refused, nothing written; give portmortem its own "
			 "file with -d PATH",
			 path, names[0] ? names : "no tables, other objects");
		return -1;
	}
	*stamp = id == 0; /* a new file, or one made before portmortem set its id */
	return 0;
}

int db_stamp_owner(sqlite3 *db, char *errbuf)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA main.application_id = %d", (int32_t)DB_APPLICATION_ID);
	return db_exec(db, sql, errbuf);
}

/* Whether the directory that holds (or would hold) `path` is writable for us. */
static bool dir_writable(const char *path)
{
	char *copy = strdup(path);
	bool ok = copy && access(dirname(copy), W_OK) == 0;
	free(copy);
	return ok;
}

void db_open_error(const char *path, const char *sqlite_msg, char *errbuf)
{
	struct stat sb;
	int exists = stat(path, &sb) == 0;
	int err = errno;
	char *copy = strdup(path);
	const char *dir = copy ? dirname(copy) : ".";
	if (!exists && err == ENOENT && access(dir, F_OK) != 0)
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "cannot open database %s: directory %s does not "
			 "exist (choose the database with -d PATH)",
			 path, dir);
	else if (!exists && !dir_writable(path))
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "cannot create database %s: directory %s is not "
			 "writable (choose another place with -d PATH)",
			 path, dir);
	else if (exists && S_ISDIR(sb.st_mode))
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "cannot open database %s: it is a directory "
			 "(-d PATH names the database file)",
			 path);
	else if (exists && (access(path, W_OK) != 0 || !dir_writable(path)))
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "cannot write database %s: %s (the file or its "
			 "directory is read-only; 'portmortem report -d %s' reads it as it is, or "
			 "choose another database with -d PATH)",
			 path, sqlite_msg, path);
	else
		snprintf(errbuf, DB_ERRBUF_SIZE,
			 "cannot open database %s: %s (choose another "
			 "with -d PATH)",
			 path, sqlite_msg);
	free(copy);
}
