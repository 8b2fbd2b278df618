/* test_addr.c - pm_addr_str against glibc's inet_ntop (RFC 4291 §2.2 text forms): every
 * pattern of zero words of an IPv6 address, random IPv4 addresses, and buffers too small;
 * pm_addr_eq and pm_addr_order against memcmp. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "dissectors/dissect.h"

/* splitmix64: the same numbers on every run and every machine. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static struct pm_addr v6_words(const unsigned w[8])
{
	struct pm_addr a = {.family = 6};
	for (int i = 0; i < 8; i++) {
		a.b[2 * i] = (uint8_t)(w[i] >> 8);
		a.b[2 * i + 1] = (uint8_t)w[i];
	}
	return a;
}

/* Asserts that pm_addr_str writes what inet_ntop writes; returns 1 to count the checks. */
static int same_as_libc(const struct pm_addr *a)
{
	char want[INET6_ADDRSTRLEN], got[46];
	int af = a->family == 4 ? AF_INET : AF_INET6;
	cr_assert_not_null(inet_ntop(af, a->b, want, sizeof want));
	memset(got, 'X', sizeof got);
	pm_addr_str(a, got, sizeof got);
	cr_assert_str_eq(got, want,
			 "address bytes %02x%02x:%02x%02x:%02x%02x:%02x%02x:"
			 "%02x%02x:%02x%02x:%02x%02x:%02x%02x",
			 a->b[0], a->b[1], a->b[2], a->b[3], a->b[4], a->b[5], a->b[6], a->b[7],
			 a->b[8], a->b[9], a->b[10], a->b[11], a->b[12], a->b[13], a->b[14],
			 a->b[15]);
	return 1;
}

static void assert_text(const struct pm_addr *a, const char *text)
{
	char buf[46];
	pm_addr_str(a, buf, sizeof buf);
	cr_assert_str_eq(buf, text);
	same_as_libc(a);
}

/* Word values of the nonzero words: leading zeros of each width, all ones, one byte zero. */
static const unsigned WORD_VALUES[] = {1, 0xffff, 0xabcd, 0x0100, 0x10, 0x1000, 0x00ff, 0xff00};
enum { N_WORD_VALUES = sizeof WORD_VALUES / sizeof WORD_VALUES[0], N_RANDOM = 16 };

/* Bit i of zero_mask set: word i is zero; the others take value (0: a fresh random nonzero
 * word each). force5: word 5 is ffff whatever the mask says. */
static int check_pattern(unsigned zero_mask, unsigned value, bool force5, uint64_t *seed)
{
	unsigned w[8];
	for (int i = 0; i < 8; i++) {
		unsigned v = value;
		while (v == 0)
			v = (unsigned)(next_rand(seed) & 0xffff);
		w[i] = zero_mask >> i & 1 ? 0 : v;
	}
	if (force5)
		w[5] = 0xffff;
	struct pm_addr a = v6_words(w);
	return same_as_libc(&a);
}

Test(addr_str, ipv6_every_pattern_of_zero_words)
{
	uint64_t seed = 6;
	int n = 0;
	for (unsigned mask = 0; mask < 256; mask++) {
		for (int f = 0; f < 2; f++) {
			for (int v = 0; v < N_WORD_VALUES; v++)
				n += check_pattern(mask, WORD_VALUES[v], f, &seed);
			for (int r = 0; r < N_RANDOM; r++)
				n += check_pattern(mask, 0, f, &seed);
		}
	}
	cr_assert_eq(n, 256 * 2 * (N_WORD_VALUES + N_RANDOM));
}

/* The embedded IPv4 forms, whose last 32 bits may hold zero bytes or zero words. */
Test(addr_str, ipv6_embedded_ipv4_tails)
{
	uint64_t seed = 46;
	int n = 0;
	for (int r = 0; r < 4096; r++) {
		uint64_t x = next_rand(&seed);
		unsigned w[8] = {0};
		w[5] = r & 1 ? 0xffff : 0;
		w[4] = r & 2 ? (unsigned)(x >> 32 & 0xffff) : 0; /* not mapped: 0:0:0:0:x:ffff */
		/* Each tail byte zero one time in four, so zero words and zero bytes come up. */
		for (int i = 0; i < 4; i++) {
			uint8_t byte = (uint8_t)(x >> (8 * i));
			if ((x >> (40 + 2 * i) & 3) == 0)
				byte = 0;
			w[6 + i / 2] |= (unsigned)byte << (i % 2 ? 0 : 8);
		}
		struct pm_addr a = v6_words(w);
		n += same_as_libc(&a);
	}
	cr_assert_eq(n, 4096);
}

Test(addr_str, ipv6_known_texts)
{
	struct pm_addr a = {.family = 6};
	assert_text(&a, "::");
	a.b[15] = 1;
	assert_text(&a, "::1");
	unsigned mapped[8] = {0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304};
	a = v6_words(mapped);
	assert_text(&a, "::ffff:1.2.3.4");
	mapped[6] = mapped[7] = 0;
	a = v6_words(mapped);
	assert_text(&a, "::ffff:0.0.0.0");
	unsigned compat[8] = {0, 0, 0, 0, 0, 0, 0x0102, 0x0304};
	a = v6_words(compat);
	assert_text(&a, "::1.2.3.4");
	unsigned compat_low0[8] = {0, 0, 0, 0, 0, 0, 1, 0};
	a = v6_words(compat_low0);
	assert_text(&a, "::0.1.0.0"); /* the run stays 6 words: IPv4 form */
	unsigned compat_high0[8] = {0, 0, 0, 0, 0, 0, 0, 0x100};
	a = v6_words(compat_high0);
	assert_text(&a, "::100"); /* the run grows to 7 words: hex */
	unsigned translated[8] = {0, 0, 0, 0, 0xffff, 0, 0x0102, 0x0304};
	a = v6_words(translated);
	assert_text(&a, "::ffff:0:102:304");
	unsigned nat64[8] = {0x64, 0xff9b, 0, 0, 0, 0, 0x0102, 0x0304};
	a = v6_words(nat64);
	assert_text(&a, "64:ff9b::102:304");
	unsigned tie[8] = {1, 0, 0, 1, 0, 0, 1, 1};
	a = v6_words(tie);
	assert_text(&a, "1::1:0:0:1:1"); /* the first of two equal runs */
	unsigned lone[8] = {1, 0, 1, 1, 1, 1, 1, 1};
	a = v6_words(lone);
	assert_text(&a, "1:0:1:1:1:1:1:1"); /* one zero word is not "::" */
	unsigned tail[8] = {0x2001, 0xdb8, 0, 0, 0, 0, 0, 0};
	a = v6_words(tail);
	assert_text(&a, "2001:db8::");
	unsigned full[8] = {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff};
	a = v6_words(full);
	assert_text(&a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

Test(addr_str, ipv4)
{
	struct pm_addr a = {.family = 4};
	assert_text(&a, "0.0.0.0");
	memset(a.b, 0xff, 4);
	assert_text(&a, "255.255.255.255");
	int n = 0;
	for (int pos = 0; pos < 4; pos++) {
		for (unsigned v = 0; v < 256; v++) {
			memset(a.b, 7, 4);
			a.b[pos] = (uint8_t)v;
			n += same_as_libc(&a);
		}
	}
	uint64_t seed = 4;
	for (int r = 0; r < 5000; r++) {
		uint64_t x = next_rand(&seed);
		for (int i = 0; i < 4; i++)
			a.b[i] = (uint8_t)(x >> (8 * i));
		n += same_as_libc(&a);
	}
	cr_assert_eq(n, 4 * 256 + 5000);
}

Test(addr_str, absent_or_unknown_family_is_empty)
{
	char buf[46];
	struct pm_addr a = {.family = 0, .b = {1, 2, 3, 4}};
	memset(buf, 'X', sizeof buf);
	pm_addr_str(&a, buf, sizeof buf);
	cr_assert_str_eq(buf, "");
	a.family = 5;
	memset(buf, 'X', sizeof buf);
	pm_addr_str(&a, buf, sizeof buf);
	cr_assert_str_eq(buf, "");
	memset(buf, 'X', sizeof buf);
	pm_addr_str(NULL, buf, sizeof buf);
	cr_assert_str_eq(buf, "");
	pm_addr_str(&a, NULL, 46); /* no buffer: nothing to write, no crash */
}

enum { GUARD = 16 };

/* buf_len bytes from a heap block of exactly that size (ASan stops a write past it), and
 * again with GUARD bytes after them that must stay untouched. */
static void check_small(const struct pm_addr *a, const char *text, size_t buf_len)
{
	size_t len = strlen(text);
	const char *want = buf_len > len ? text : "";
	if (buf_len > 0) {
		char *exact = malloc(buf_len);
		cr_assert_not_null(exact);
		memset(exact, 'X', buf_len);
		pm_addr_str(a, exact, buf_len);
		cr_assert_str_eq(exact, want, "buf_len %zu", buf_len);
		free(exact);
	}
	char guarded[46 + GUARD];
	memset(guarded, 'X', sizeof guarded);
	pm_addr_str(a, guarded, buf_len);
	if (buf_len == 0)
		cr_assert_eq(guarded[0], 'X', "buf_len 0 wrote a byte");
	else
		cr_assert_str_eq(guarded, want, "buf_len %zu", buf_len);
	for (size_t i = buf_len; i < buf_len + GUARD; i++)
		cr_assert_eq(guarded[i], 'X', "buf_len %zu: byte %zu written", buf_len, i);
}

Test(addr_str, small_buffers_never_overflow)
{
	unsigned longest[8] = {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xabcd};
	unsigned mapped[8] = {0, 0, 0, 0, 0, 0xffff, 0xffff, 0xffff};
	struct pm_addr v4 = {.family = 4, .b = {255, 255, 255, 255}};
	struct pm_addr v4_short = {.family = 4, .b = {1, 2, 3, 4}};
	struct pm_addr v6_zero = {.family = 6};
	struct pm_addr v6_one = {.family = 6, .b = {[15] = 1}};
	struct {
		struct pm_addr a;
		const char *text;
	} cases[] = {
	    {v4, "255.255.255.255"},
	    {v4_short, "1.2.3.4"},
	    {v6_zero, "::"},
	    {v6_one, "::1"},
	    {v6_words(longest), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:abcd"},
	    {v6_words(mapped), "::ffff:255.255.255.255"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t len = strlen(cases[c].text);
		/* 0, 1, 7 and every length up to the exact fit (len + 1) and one more. */
		for (size_t buf_len = 0; buf_len <= len + 2; buf_len++)
			check_small(&cases[c].a, cases[c].text, buf_len);
	}
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* pm_addr_eq() and pm_addr_order() against memcmp(): pairs that differ in one byte (each
 * byte, with values on both sides of 0x80), random pairs of every family, and equal ones. */
Test(addr_compare, order_and_equality_as_memcmp_says)
{
	uint64_t seed = 20261202;
	static const uint8_t families[] = {0, 4, 6, 7};
	int checked = 0;
	for (int n = 0; n < 200000; n++) {
		struct pm_addr a, b;
		uint8_t raw[34];
		for (size_t i = 0; i < sizeof raw; i += 8) {
			uint64_t r = next_rand(&seed);
			memcpy(raw + i, &r, sizeof raw - i < 8 ? sizeof raw - i : 8);
		}
		memcpy(&a, raw, sizeof a);
		memcpy(&b, raw + 17, sizeof b);
		a.family = families[raw[0] % 4];
		b.family = n % 3 ? a.family : families[raw[17] % 4];
		if (n % 2) { /* the same but for one byte */
			b = a;
			b.b[raw[1] % 16] ^= (uint8_t)(1u << (raw[2] % 8));
		} else if (n % 5 == 0) {
			b = a;
		}
		cr_assert_eq(sign(pm_addr_order(&a, &b)), sign(memcmp(&a, &b, sizeof a)),
			     "pair %d: order", n);
		size_t len = a.family == 4 ? 4 : a.family == 6 ? 16 : 0;
		bool same = a.family == b.family && memcmp(a.b, b.b, len) == 0;
		cr_assert_eq(pm_addr_eq(&a, &b), same, "pair %d: equality", n);
		checked++;
	}
	cr_expect_eq(checked, 200000);
}
