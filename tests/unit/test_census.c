/* test_census.c - the census that lets the reflection and scan rules skip groups that cannot
 * qualify: it must never hold back one that does, and must hold back the common ones. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "analyzer/diagnose_int.h"
#include "db/db.h"

static sqlite3 *db;

static void setup(void)
{
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
}

static void teardown(void)
{
	dg_census_end(db);
	sqlite3_close(db);
}

/* Shows the census one row, as PU_SQL does (flood: the victim refused it, unanswered). */
static void row(const char *src, int sport, const char *dst, int dport, int flood)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT pm_census('%s', '%s', %d, %d, %d)", src, dst, sport,
		 dport, flood);
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_int(st, 0), 1, "pm_census keeps every row");
	sqlite3_finalize(st);
}

static int ask(const char *fn, const char *a, const char *b)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s('%s', %s)", fn, a, b);
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

#define PAIR(src, dst) ask("pm_pair_maybe", src, "'" dst "'")
#define FLOOD(victim, port) ask("pm_flood_maybe", victim, #port)

TestSuite(census, .init = setup, .fini = teardown);

Test(census, a_pair_needs_three_distinct_ports)
{
	const struct dg_census *c = dg_census_start(db, 100);
	cr_assert_not_null(c);
	cr_assert(PAIR("192.0.2.1", "198.51.100.1"), "nothing counted yet: every group may");
	for (int i = 0; i < 50; i++)
		row("192.0.2.1", 40000 + i, "198.51.100.1", 53, 1); /* one port, many times */
	row("192.0.2.2", 40000, "198.51.100.1", 53, 1);
	row("192.0.2.2", 40001, "198.51.100.1", 123, 1); /* two ports */
	cr_assert_not(dg_census_pairs(c), "no group reached three ports");
	cr_assert_not(PAIR("192.0.2.1", "198.51.100.1"));
	cr_assert_not(PAIR("192.0.2.2", "198.51.100.1"));
	cr_assert_not(PAIR("192.0.2.9", "198.51.100.1"), "a group never seen");
	for (int p = 1; p <= 3; p++)
		row("203.0.113.5", 5555, "198.51.100.1", p, 1);
	cr_assert(dg_census_pairs(c));
	cr_assert(PAIR("203.0.113.5", "198.51.100.1"));
	cr_assert_not(PAIR("198.51.100.1", "203.0.113.5"), "the key has a direction");
}

Test(census, a_flood_needs_enough_rows_from_several_sources_to_several_ports)
{
	const struct dg_census *c = dg_census_start(db, 100);
	cr_assert_not_null(c);
	/* a scanner: one source port, many destination ports, but one source */
	for (int p = 1; p <= 40; p++)
		row("203.0.113.5", 5555, "198.51.100.1", p, 1);
	/* many sources, but always to one port (clients of a refused service, same port) */
	for (int i = 0; i < 40; i++) {
		char src[32];
		snprintf(src, sizeof src, "192.0.2.%d", i + 1);
		row(src, 161, "198.51.100.2", 40000, 1);
	}
	/* a flood that is not the victim's own refusal does not count */
	for (int i = 0; i < 40; i++) {
		char src[32];
		snprintf(src, sizeof src, "192.0.2.%d", i + 1);
		row(src, 123, "198.51.100.3", 30000 + i, 0);
	}
	cr_assert_not(dg_census_floods(c));
	cr_assert_not(FLOOD("198.51.100.1", 5555));
	cr_assert_not(FLOOD("198.51.100.2", 161));
	cr_assert_not(FLOOD("198.51.100.3", 123));
	/* nine rows from many sources to many ports: one short */
	for (int i = 0; i < REFLECT_MIN_SOURCES - 1; i++) {
		char src[32];
		snprintf(src, sizeof src, "192.0.2.%d", i + 1);
		row(src, 161, "198.51.100.4", 30000 + i, 1);
	}
	cr_assert_not(FLOOD("198.51.100.4", 161));
	row("192.0.2.200", 161, "198.51.100.4", 31000, 1);
	cr_assert(FLOOD("198.51.100.4", 161));
	cr_assert_not(FLOOD("198.51.100.4", 162), "another source port is another group");
	cr_assert(dg_census_floods(c));
}

Test(census, a_full_table_lets_every_group_through)
{
	const struct dg_census *c = dg_census_start(db, 0); /* the smallest table */
	cr_assert_not_null(c);
	row("192.0.2.1", 1, "198.51.100.1", 53, 0);
	cr_assert_not(dg_census_pairs(c));
	cr_assert_not(PAIR("192.0.2.1", "198.51.100.1"));
	char dst[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(dst, sizeof dst, "198.51.%d.%d", i / 250, i % 250);
		row("192.0.2.1", 1, dst, 53, 1);
	}
	cr_assert(dg_census_pairs(c), "groups it could not count may qualify");
	cr_assert(dg_census_floods(c));
	cr_assert(PAIR("192.0.2.1", "198.51.100.1"));
	cr_assert(FLOOD("198.51.100.1", 1));
}

Test(census, the_functions_go_with_the_census)
{
	cr_assert_not_null(dg_census_start(db, 10));
	dg_census_end(db);
	sqlite3_stmt *st = NULL;
	cr_assert_neq(sqlite3_prepare_v2(db, "SELECT pm_census('a', 'b', 1, 2, 1)", -1, &st, NULL),
		      SQLITE_OK, "pm_census is gone after dg_census_end");
	sqlite3_finalize(st);
	/* a second census on the same connection starts from nothing */
	const struct dg_census *c = dg_census_start(db, 10);
	cr_assert_not_null(c);
	cr_assert(dg_census_pairs(c), "nothing counted: every group may");
	cr_assert(PAIR("x", "y"));
	row("x", 1, "y", 1, 0);
	cr_assert_not(PAIR("x", "y"));
}
