/* diagnose.h - findings from what the database holds (SPEC §6). */
#ifndef PM_DIAGNOSE_H
#define PM_DIAGNOSE_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

/* What the diagnosis asks of the knowledge base, given by the command that runs it (the
 * analyzer does not read the knowledge base itself). */
struct diagnose_kb {
	/* The service clients are configured to use on this port ("dns" on 53), or NULL. */
	const char *(*service_for_port)(uint16_t port);
};

/*
 * Recomputes the findings table from every capture in `db` (events, flows, endpoints,
 * TTLs), in one transaction. `kb` may be NULL (no port names a service). Returns the number
 * of findings, or -1 with errbuf (DB_ERRBUF_SIZE) filled.
 */
int diagnose_rebuild(sqlite3 *db, const struct diagnose_kb *kb, char *errbuf);

/*
 * True when the findings stored in `db` were computed by this version of the rules from
 * exactly the captures it holds now (the signature diagnose_rebuild() records in the table
 * `meta`): then a report needs no rebuild, and writes nothing.
 */
bool diagnose_current(sqlite3 *db);

#endif
