/* diagnose.h - findings from what the database holds (SPEC §6). */
#ifndef PM_DIAGNOSE_H
#define PM_DIAGNOSE_H

#include <stdbool.h>

#include <sqlite3.h>

/*
 * Recomputes the findings table from every capture in `db` (events, flows, endpoints,
 * TTLs), in one transaction. Returns the number of findings, or -1 with errbuf
 * (DB_ERRBUF_SIZE) filled.
 */
int diagnose_rebuild(sqlite3 *db, char *errbuf);

/*
 * True when the findings stored in `db` were computed by this version of the rules from
 * exactly the captures it holds now (the signature diagnose_rebuild() records in the table
 * `meta`): then a report needs no rebuild, and writes nothing.
 */
bool diagnose_current(sqlite3 *db);

#endif
