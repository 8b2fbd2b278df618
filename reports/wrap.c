/* wrap.c - word wrapping of UTF-8 text for an 80-column terminal. */
#include <string.h>

#include "reports/report_int.h"

static void spaces(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

/* Bytes of s that fit in `cols` columns, cut on a code point boundary (at least one). */
static size_t fit_bytes(const char *s, size_t n, size_t cols)
{
	size_t i = 0, c = 0;
	while (i < n) {
		size_t k = i + 1;
		while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
			k++;
		if (c + 1 > cols && i > 0)
			break;
		c++;
		i = k;
	}
	return i;
}

void wrap_write(FILE *out, const char *text, size_t col, size_t indent, size_t width,
		const char *cont)
{
	size_t cont_cols = cont ? strlen(cont) + 1 : 0;
	size_t avail = width > cont_cols + indent + 8 ? width - cont_cols : width;
	bool content = false;
	const char *p = text ? text : "";
	while (*p) {
		size_t gap = strspn(p, " "); /* runs of spaces inside a line are kept */
		p += gap;
		if (!*p)
			break;
		size_t wl = strcspn(p, " ");
		size_t wc = text_cols(p, wl);
		gap = content ? gap : 0;
		if (content && col + gap + wc > avail) {
			if (cont)
				fprintf(out, " %s", cont);
			fputc('\n', out);
			spaces(out, indent);
			col = indent;
			gap = 0;
		}
		if (p[0] == '#')
			cont = NULL; /* a shell comment swallows a continuation: none after it */
		spaces(out, gap);
		col += gap;
		while (col + wc > avail && wc > 1 && avail > col) {
			size_t b = fit_bytes(p, wl, avail - col);
			fwrite(p, 1, b, out);
			fputc('\n', out);
			spaces(out, indent);
			col = indent;
			p += b, wl -= b;
			wc = text_cols(p, wl);
		}
		fwrite(p, 1, wl, out);
		col += wc;
		p += wl;
		content = true;
	}
	fputc('\n', out);
}

void wrap_para(FILE *out, size_t indent, const char *text)
{
	spaces(out, indent);
	wrap_write(out, text, indent, indent, TEXT_WIDTH, NULL);
}
