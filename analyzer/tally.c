/* tally.c - distinct values of a group of rows with their counts (see tally.h). */
#include "analyzer/tally.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int tally_cmp(const void *a, size_t a_len, const void *b, size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (c)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

static size_t key_hash(const void *key, size_t len)
{
	return (size_t)XXH3_64bits(key, len);
}

/* The slot of key: where it is, or the empty slot where it goes. */
static size_t find_slot(const struct tally *t, const void *key, size_t len)
{
	size_t mask = t->n_slots - 1;
	for (size_t i = key_hash(key, len) & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];
		if (!s)
			return i;
		const struct tally_item *it = &t->items[s - 1];
		if (it->len == len && memcmp(it->key, key, len) == 0)
			return i;
	}
}

static bool grow_slots(struct tally *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : 16;
	uint32_t *slots = calloc(n, sizeof *slots);
	if (!slots)
		return false;
	free(t->slots);
	t->slots = slots;
	t->n_slots = n;
	for (size_t i = 0; i < t->n_items; i++)
		t->slots[find_slot(t, t->items[i].key, t->items[i].len)] = (uint32_t)(i + 1);
	return true;
}

bool tally_add(struct tally *t, const void *key, size_t len)
{
	if (!key)
		key = "", len = 0;
	if ((t->n_items + 1) * 2 > t->n_slots && (t->n_items >= UINT32_MAX - 1 || !grow_slots(t)))
		return false;
	size_t slot = find_slot(t, key, len);
	if (t->slots[slot]) {
		t->items[t->slots[slot] - 1].n++;
		return true;
	}
	if (t->max_items && t->n_items >= t->max_items) {
		t->overflow = true;
		return true;
	}
	if (t->n_items == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct tally_item *items = realloc(t->items, cap * sizeof *items);
		if (!items)
			return false;
		t->items = items;
		t->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return false;
	memcpy(copy, key, len);
	copy[len] = '\0';
	t->items[t->n_items] = (struct tally_item){.key = copy, .len = len, .n = 1};
	t->slots[slot] = (uint32_t)++t->n_items;
	return true;
}

const struct tally_item *tally_top(const struct tally *t)
{
	const struct tally_item *top = NULL;
	for (size_t i = 0; i < t->n_items; i++) {
		const struct tally_item *it = &t->items[i];
		if (!top || it->n > top->n ||
		    (it->n == top->n && tally_cmp(it->key, it->len, top->key, top->len) < 0))
			top = it;
	}
	return top;
}

void tally_clear(struct tally *t)
{
	for (size_t i = 0; i < t->n_items; i++)
		free(t->items[i].key);
	t->n_items = 0;
	t->overflow = false;
	if (t->slots)
		memset(t->slots, 0, t->n_slots * sizeof *t->slots);
}

void tally_free(struct tally *t)
{
	tally_clear(t);
	free(t->items);
	free(t->slots);
	*t = (struct tally){0};
}
