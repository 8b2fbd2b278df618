/* files.c - the files captures were read from (path, size, modification time, inode), so that
 * a re-run recognises an unchanged file without reading it (table capture_files, schema v5). */
#include "db/db.h"

#include <stdio.h>
#include <string.h>

static const char LOOKUP_SQL[] =
    "SELECT f.content_hash FROM capture_files f JOIN captures c"
    " ON c.content_hash = f.content_hash WHERE f.path = ?1 AND f.filter = ?2"
    " AND f.size = ?3 AND f.mtime_ns = ?4 AND f.inode = ?5";

static const char REMEMBER_SQL[] =
    "INSERT OR REPLACE INTO capture_files (path, filter, size, mtime_ns, inode, content_hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static void bind_file(sqlite3_stmt *st, const struct db_file_id *f, const char *filter)
{
	sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, filter ? filter : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, f->size);
	sqlite3_bind_int64(st, 4, f->mtime_ns);
	sqlite3_bind_int64(st, 5, f->inode);
}

int db_file_lookup(sqlite3 *db, sqlite3_stmt **cache, const struct db_file_id *f,
		   const char *filter, char *key, size_t key_len, char *errbuf)
{
	if (!*cache && sqlite3_prepare_v2(db, LOOKUP_SQL, -1, cache, NULL) != SQLITE_OK) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "preparing the file lookup: %s",
			 sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_stmt *st = *cache;
	bind_file(st, f, filter);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 0);
		found = h && strlen((const char *)h) < key_len;
		if (found)
			snprintf(key, key_len, "%s", (const char *)h);
	} else if (rc != SQLITE_DONE) {
		snprintf(errbuf, DB_ERRBUF_SIZE, "looking up a file: %s", sqlite3_errmsg(db));
		found = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

int db_files_remember(sqlite3 *db, const struct db_file_id *files, const char *const *keys, int n,
		      const char *filter, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	char ignore[DB_ERRBUF_SIZE];
	if (n == 0)
		return 0;
	if (db_exec(db, "BEGIN IMMEDIATE", errbuf) < 0)
		return -1;
	if (sqlite3_prepare_v2(db, REMEMBER_SQL, -1, &st, NULL) != SQLITE_OK)
		goto error;
	for (int i = 0; i < n; i++) {
		bind_file(st, &files[i], filter);
		sqlite3_bind_text(st, 6, keys[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto error;
	}
	sqlite3_finalize(st);
	return db_exec(db, "COMMIT", errbuf);
error:
	snprintf(errbuf, DB_ERRBUF_SIZE, "recording the files read: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	db_exec(db, "ROLLBACK", ignore);
	return -1;
}
