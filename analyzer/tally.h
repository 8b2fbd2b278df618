/* tally.h - the distinct values of one column within a group of rows, and how often each
 * came: what the diagnosis's one-pass aggregates need from SQL's GROUP BY, computed while
 * the rows stream by in another order. Values compare as SQLite's BINARY collation does
 * (bytes, then the shorter first), so the results equal those of the SQL they replace. */
#ifndef PM_TALLY_H
#define PM_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tally_item {
	char *key; /* len bytes, NUL-terminated (owned by the tally) */
	size_t len;
	int64_t n;
};

struct tally {
	struct tally_item *items; /* in the order first added */
	size_t n_items, cap;
	uint32_t *slots;  /* open addressing: index + 1 into items, 0 = empty */
	size_t n_slots;	  /* a power of two, at least twice n_items */
	size_t max_items; /* 0: no bound; else a new value past it is not kept (overflow) */
	bool overflow;	  /* a value was left out: the counts are incomplete */
};

/* Counts one occurrence of the value key (len bytes). False when memory runs out (the tally
 * is left as it was). A new value past max_items is left out and sets overflow. */
bool tally_add(struct tally *t, const void *key, size_t len);
/* The most frequent value, the smallest of those that tie (ORDER BY COUNT(*) DESC, value);
 * NULL when the tally is empty. */
const struct tally_item *tally_top(const struct tally *t);
/* Empties the tally for the next group, keeping its memory (and its bound). */
void tally_clear(struct tally *t);
void tally_free(struct tally *t);

/* BINARY collation: memcmp over the common length, then the shorter first. */
int tally_cmp(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
