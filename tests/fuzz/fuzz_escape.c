/* fuzz_escape.c - libFuzzer target over the report escapers: any bytes in, safe text out. */
// Input: any bytes. Each escaper's output is checked inside the target:
//  - esc_name and pm_bytes_escape: printable ASCII only, and decoding the \\ and \xNN
//    escapes gives the input back (pm_bytes_escape: a prefix of it, within its buffer);
//  - esc_text: valid UTF-8 with no C0/C1 control, DEL, bidirectional override or line
//    separator (not reversible: esc_text keeps a backslash as it is);
//  - html_puts: no < > " ' and every & starts one of the five entities, and unescaping
//    gives the input back;
//  - csv_field: one RFC 4180 field that parses back to the input (after the ' that defuses
//    a formula), never starting with = + - @ TAB CR outside quotes;
//  - pm_bytes_hex: lowercase hex of the input.

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dissect.h"
#include "reports/report.h"
#include "reports/report_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes \\ and \xNN into out (at least n bytes); returns the length, or traps. */
static size_t unescape(const char *s, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[o++] = (uint8_t)s[i];
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\\') {
			out[o++] = '\\', i++;
			continue;
		}
		if (i + 3 >= n)
			__builtin_trap();
		if (s[i + 1] != 'x' || hexval(s[i + 2]) < 0 || hexval(s[i + 3]) < 0)
			__builtin_trap();
		out[o++] = (uint8_t)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
		i += 3;
	}
	return o;
}

static void check_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] > 0x7e)
			__builtin_trap();
}

/* Valid UTF-8 without the code points a terminal or document must not get raw. */
static void check_safe_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t len;
		uint8_t c = s[i];
		if (c < 0x80)
			cp = c, len = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			cp = c & 0x1f, len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			cp = c & 0x0f, len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			cp = c & 0x07, len = 4;
		else
			__builtin_trap();
		if (i + len > n)
			__builtin_trap();
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				__builtin_trap();
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			__builtin_trap();
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		    cp == 0xfeff)
			__builtin_trap();
		i += len;
	}
}

static void check_escapes(const uint8_t *data, size_t size, uint8_t *scratch)
{
	struct sbuf b;
	sb_init(&b);
	sb_puts(&b, "");
	esc_name(&b, data, size);
	const char *s = sb_str(&b);
	if (s) {
		check_ascii(s, strlen(s));
		if (unescape(s, strlen(s), scratch) != size || memcmp(scratch, data, size) != 0)
			__builtin_trap();
	}
	sb_free(&b);
	sb_init(&b);
	sb_puts(&b, "");
	esc_text(&b, data, size);
	s = sb_str(&b);
	if (s) {
		/* Not reversible: a backslash is kept as it is (escape.c), so only safety. */
		check_safe_utf8((const uint8_t *)s, strlen(s));
	}
	sb_free(&b);
}

static void check_bytes(const uint8_t *data, size_t size, uint8_t *scratch)
{
	size_t cap = size * 4 + 1;
	char *out = malloc(cap);
	size_t out_len = 1 + (size ? data[0] % (cap) : 0);
	size_t n = pm_bytes_escape(data, size, out, out_len);
	if (n >= out_len || out[n] != '\0' || strlen(out) != n)
		__builtin_trap();
	check_ascii(out, n);
	size_t k = unescape(out, n, scratch);
	if (k > size || memcmp(scratch, data, k) != 0)
		__builtin_trap();
	n = pm_bytes_hex(data, size, out, cap);
	if (n != 2 * size)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (hexval(out[i]) < 0 ||
		    (uint8_t)hexval(out[i]) != (i % 2 ? data[i / 2] & 15 : data[i / 2] >> 4))
			__builtin_trap();
	free(out);
}

/* The C string the writers get: the input up to its first NUL. */
static void check_html(const char *in)
{
	static const char *ENT[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	static const char RAW[] = "&<>\"'";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	html_puts(f, in);
	fclose(f);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (strchr("<>\"'", buf[i]))
			__builtin_trap();
		char c = buf[i];
		size_t step = 1;
		if (c == '&') {
			size_t e = 0;
			while (e < 5 && strncmp(buf + i, ENT[e], strlen(ENT[e])) != 0)
				e++;
			if (e == 5)
				__builtin_trap();
			c = RAW[e], step = strlen(ENT[e]);
		}
		if (in[o++] != c)
			__builtin_trap();
		i += step;
	}
	if (in[o] != '\0')
		__builtin_trap();
	free(buf);
}

static void check_csv(const char *in)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	csv_field(f, in);
	fclose(f);
	char *dec = malloc(len + 1);
	size_t o = 0, i = 0;
	bool quoted = len > 0 && buf[0] == '"';
	if (quoted) {
		for (i = 1; i < len; i++) {
			if (buf[i] == '"' && i + 1 < len && buf[i + 1] == '"')
				dec[o++] = '"', i++;
			else if (buf[i] == '"')
				break;
			else
				dec[o++] = buf[i];
		}
		if (i != len - 1) /* the closing quote ends the field */
			__builtin_trap();
	} else {
		for (; i < len; i++) {
			if (strchr(",\"\r\n", buf[i]))
				__builtin_trap();
			dec[o++] = buf[i];
		}
		if (len && strchr("=+-@\t\r", buf[0]))
			__builtin_trap();
	}
	size_t skip = o > 0 && dec[0] == '\'' && in[0] != '\'' ? 1 : 0;
	if (skip && !strchr("=+-@\t\r", in[0]))
		__builtin_trap();
	if (o - skip != strlen(in) || memcmp(dec + skip, in, o - skip) != 0)
		__builtin_trap();
	free(dec);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *scratch = malloc(size + 1);
	char *str = malloc(size + 1);
	memcpy(str, data, size);
	str[size] = '\0';
	check_escapes(data, size, scratch);
	check_bytes(data, size, scratch);
	check_html(str);
	check_csv(str);
	char *t = esc_text_dup(str);
	if (t) {
		check_html(t);
		check_csv(t);
	}
	free(t);
	free(scratch);
	free(str);
	return 0;
}
