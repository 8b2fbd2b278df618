/* escape.c - growable strings and escaping for the terminal, HTML and CSV (RFC 4180), SPEC §10. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report_int.h"

void sb_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	sb_init(b);
}

static bool sb_grow(struct sbuf *b, size_t n)
{
	if (b->oom)
		return false;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

void sb_putc(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *sb_str(const struct sbuf *b)
{
	return b->p && !b->oom ? b->p : "";
}

char *sb_take(struct sbuf *b)
{
	char *p = NULL;
	if (!b->oom)
		p = b->p ? b->p : strdup("");
	else
		free(b->p);
	sb_init(b);
	return p;
}

/* The escaping is pm_bytes_escape() (dissectors/format.c, which the store uses too), run over
 * chunks whose escapes always fit its buffer (4 characters at most per byte). */
void esc_name(struct sbuf *b, const uint8_t *s, size_t n)
{
	char out[4 * 256 + 1];
	for (size_t i = 0; i < n; i += 256) {
		size_t k = n - i < 256 ? n - i : 256;
		sb_put(b, out, pm_bytes_escape(s + i, k, out, sizeof out));
	}
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or > U+10FFFF),
 * its code point in *cp; 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points that must not reach a terminal or a document as they are. */
static bool cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

void esc_text(struct sbuf *b, const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp = 0;
		size_t len = utf8_seq(s + i, n - i, &cp);
		if (len == 0) {
			esc_name(b, s + i++, 1); /* \xNN: the byte is not printable ASCII */
			continue;
		}
		if (cp_unsafe(cp)) {
			esc_name(b, s + i, len); /* \xNN each: none is printable ASCII */
		} else {
			sb_put(b, (const char *)s + i, len);
		}
		i += len;
	}
}

/* esc(s, n) into a new heap string ("" for NULL s). */
static char *esc_dup(void (*esc)(struct sbuf *, const uint8_t *, size_t), const uint8_t *s,
		     size_t n)
{
	struct sbuf b;
	sb_init(&b);
	sb_puts(&b, "");
	if (s)
		esc(&b, s, n);
	return sb_take(&b);
}

char *esc_text_dup(const char *s)
{
	return s ? esc_dup(esc_text, (const uint8_t *)s, strlen(s)) : NULL;
}

char *esc_name_dup(const uint8_t *s, size_t n)
{
	return esc_dup(esc_name, s, n);
}

void html_puts(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

void csv_field(FILE *out, const char *s)
{
	if (!s || !*s)
		return;
	bool formula = strchr("=+-@\t\r", s[0]) != NULL;
	bool quote =
	    formula || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || s[strlen(s) - 1] == ' ';
	if (quote)
		fputc('"', out);
	if (formula)
		fputc('\'', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	if (quote)
		fputc('"', out);
}

size_t text_cols(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n; i++)
		if (((uint8_t)s[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

void fmt_count(char *buf, size_t len, int64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v), o = 0;
	for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
		if (i > 0 && tmp[i - 1] != '-' && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}
