/* census.c - which groups of events may reach a rule's threshold, counted while pu is made.
 *
 * Two rules look for groups among every event: reflection (a victim refusing datagrams
 * from one source port of at least REFLECT_MIN_SOURCES sources, to more than one port) and
 * udp-scan (a source sending to at least three ports of one host). Each found its groups by
 * sorting every event: in a storm of a million refused requests, where no group qualifies,
 * those sorts cost seconds. The census counts each group's events in a hash table as the
 * rows that make pu go by (pm_census() in PU_SQL's WHERE), so that the rules sort only the
 * events of the groups that may qualify (pm_flood_maybe(), pm_pair_maybe()), and skip their
 * grouping when none may.
 *
 * A group is known by a 32-bit fingerprint of its key: two groups with the same one are
 * counted together, which may let a group through that does not qualify (the rule's own
 * grouping then drops it), never hold back one that does. For the same reason the census
 * may count every row it is shown, before the rules claim some and the duplicates leave:
 * more rows, again only more groups let through. When the table fills, every group may. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "analyzer/diagnose_int.h"

/* Slots of each table: 1.5 times the events expected or more (every event may be a group
 * of its own), a power of two, within these bounds; at the upper one, 4 Mi slots of 12
 * bytes in each of the two tables (touched only where groups fall). A table holds at most
 * three quarters of its slots. */
#define CENSUS_SLOTS_MIN 4096u
#define CENSUS_SLOTS_MAX (1u << 22)

/* A flood's group (victim, source port): its rows, and whether its sources and destination
 * ports differ from its first row's. */
struct flood_slot {
	uint32_t fp;  /* fingerprint of the key, 0 = empty slot */
	uint32_t src; /* hash of the first source */
	uint16_t dport;
	uint8_t rows;  /* saturating at 255 */
	uint8_t mixed; /* FLOOD_SOURCES, FLOOD_PORTS */
};
#define FLOOD_SOURCES 1
#define FLOOD_PORTS 2
#define FLOOD_BOTH (FLOOD_SOURCES | FLOOD_PORTS)

/* A scan's group (source, target): its distinct destination ports, up to three. */
struct pair_slot {
	uint32_t fp;
	uint16_t ports[2]; /* the first two */
	uint8_t n;
};

struct dg_census {
	uint32_t mask;		    /* slots - 1 */
	uint32_t n_floods, n_pairs; /* slots in use */
	struct flood_slot *flood;
	struct pair_slot *pair;
	bool counted;	       /* pm_census() saw the rows: the answers below mean something */
	bool full;	       /* a table filled: every group may qualify */
	int64_t floods, pairs; /* groups that reached each threshold */
};

static bool flood_passes(const struct flood_slot *f)
{
	return f->rows >= REFLECT_MIN_SOURCES && f->mixed == FLOOD_BOTH;
}

static uint64_t text_hash(sqlite3_value *v, uint64_t seed)
{
	const void *p = sqlite3_value_text(v);
	return p ? XXH3_64bits_withSeed(p, (size_t)sqlite3_value_bytes(v), seed) : seed ^ 1;
}

/* The hash of the key (a, b): two texts, or a text and a port (b_is_port). */
static uint64_t key_hash(sqlite3_value *a, sqlite3_value *b, bool b_is_port)
{
	uint64_t h = text_hash(a, 0x9e3779b97f4a7c15u);
	if (!b_is_port)
		return text_hash(b, h);
	uint64_t port = (uint64_t)sqlite3_value_int64(b);
	return XXH3_64bits_withSeed(&port, sizeof port, h);
}

/* Where key hash h lives in a table of slots of elem_len bytes whose first member is the
 * fingerprint: its slot, or the empty one where it goes (taken when add, counted in
 * *used); -1 when it is not there (!add) or the table is full. */
static int64_t find(struct dg_census *c, void *table, size_t elem_len, uint32_t *used, uint64_t h,
		    bool add)
{
	uint32_t fp = (uint32_t)(h >> 32) | 1u; /* never 0, which marks an empty slot */
	for (uint32_t i = (uint32_t)h & c->mask;; i = (i + 1) & c->mask) {
		uint32_t *slot = (uint32_t *)((char *)table + (size_t)i * elem_len);
		if (*slot == fp)
			return i;
		if (*slot == 0) {
			if (!add)
				return -1;
			if (*used >= c->mask / 4 * 3) {
				c->full = true;
				return -1;
			}
			*slot = fp;
			++*used;
			return i;
		}
	}
}

static void count_flood(struct dg_census *c, sqlite3_value **argv)
{
	int64_t i = find(c, c->flood, sizeof *c->flood, &c->n_floods,
			 key_hash(argv[1], argv[2], true), true);
	if (i < 0)
		return;
	struct flood_slot *f = &c->flood[i];
	uint32_t src = (uint32_t)text_hash(argv[0], 0);
	uint16_t dport = (uint16_t)sqlite3_value_int64(argv[3]);
	bool passed = flood_passes(f);
	if (f->rows == 0)
		f->src = src, f->dport = dport;
	f->mixed |= (src != f->src ? FLOOD_SOURCES : 0) | (dport != f->dport ? FLOOD_PORTS : 0);
	if (f->rows < 255)
		f->rows++;
	c->floods += !passed && flood_passes(f);
}

static void count_pair(struct dg_census *c, sqlite3_value **argv)
{
	int64_t i =
	    find(c, c->pair, sizeof *c->pair, &c->n_pairs, key_hash(argv[0], argv[1], false), true);
	if (i < 0)
		return;
	struct pair_slot *p = &c->pair[i];
	uint16_t port = (uint16_t)sqlite3_value_int64(argv[3]);
	if (p->n >= 3)
		return;
	for (uint8_t k = 0; k < p->n; k++)
		if (p->ports[k] == port)
			return;
	if (p->n < 2)
		p->ports[p->n] = port;
	c->pairs += ++p->n == 3;
}

/* pm_census(src, dst, sport, dport, flood): counts one row (flood: the victim refused it
 * itself, unanswered); always 1, as it sits in a WHERE. */
static void fn_census(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct dg_census *c = sqlite3_user_data(ctx);
	c->counted = true;
	if (!c->full)
		count_pair(c, argv);
	if (!c->full && sqlite3_value_int64(argv[4]))
		count_flood(c, argv);
	sqlite3_result_int(ctx, 1);
}

/* pm_flood_maybe(victim, source port): whether the group may be a reflected flood. */
static void fn_flood_maybe(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct dg_census *c = sqlite3_user_data(ctx);
	if (!c->counted || c->full) {
		sqlite3_result_int(ctx, 1);
		return;
	}
	int64_t i = find(c, c->flood, sizeof *c->flood, &c->n_floods,
			 key_hash(argv[0], argv[1], true), false);
	sqlite3_result_int(ctx, i >= 0 && flood_passes(&c->flood[i]));
}

/* pm_pair_maybe(source, target): whether it sent to three ports of the target or more. */
static void fn_pair_maybe(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct dg_census *c = sqlite3_user_data(ctx);
	if (!c->counted || c->full) {
		sqlite3_result_int(ctx, 1);
		return;
	}
	int64_t i = find(c, c->pair, sizeof *c->pair, &c->n_pairs,
			 key_hash(argv[0], argv[1], false), false);
	sqlite3_result_int(ctx, i >= 0 && c->pair[i].n >= 3);
}

bool dg_census_floods(const struct dg_census *c)
{
	return !c || !c->counted || c->full || c->floods > 0;
}

bool dg_census_pairs(const struct dg_census *c)
{
	return !c || !c->counted || c->full || c->pairs > 0;
}

static void census_free(void *p)
{
	struct dg_census *c = p;
	if (!c)
		return;
	free(c->flood), free(c->pair);
	free(c);
}

struct dg_census *dg_census_start(sqlite3 *db, int64_t expected_rows)
{
	struct dg_census *c = calloc(1, sizeof *c);
	uint32_t slots = CENSUS_SLOTS_MIN;
	while (slots < CENSUS_SLOTS_MAX && (int64_t)slots < expected_rows / 2 * 3)
		slots *= 2;
	if (c) {
		c->mask = slots - 1;
		c->flood = calloc(slots, sizeof *c->flood);
		c->pair = calloc(slots, sizeof *c->pair);
	}
	if (!c || !c->flood || !c->pair) {
		census_free(c);
		return NULL;
	}
	/* One owner frees the census: pm_census's destructor, when the functions are deleted
	 * or the connection closes. The two questions share it. */
	int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
	if (sqlite3_create_function_v2(db, "pm_census", 5, flags, c, fn_census, NULL, NULL,
				       census_free) != SQLITE_OK)
		return NULL; /* SQLite called the destructor */
	if (sqlite3_create_function_v2(db, "pm_flood_maybe", 2, flags, c, fn_flood_maybe, NULL,
				       NULL, NULL) != SQLITE_OK ||
	    sqlite3_create_function_v2(db, "pm_pair_maybe", 2, flags, c, fn_pair_maybe, NULL, NULL,
				       NULL) != SQLITE_OK) {
		dg_census_end(db);
		return NULL;
	}
	return c;
}

void dg_census_end(sqlite3 *db)
{
	sqlite3_create_function_v2(db, "pm_flood_maybe", 2, SQLITE_UTF8, NULL, NULL, NULL, NULL,
				   NULL);
	sqlite3_create_function_v2(db, "pm_pair_maybe", 2, SQLITE_UTF8, NULL, NULL, NULL, NULL,
				   NULL);
	sqlite3_create_function_v2(db, "pm_census", 5, SQLITE_UTF8, NULL, NULL, NULL, NULL, NULL);
}
