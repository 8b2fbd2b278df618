/* test_report_html.c - the HTML report: self-contained, script-free, every packet string escaped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "reports/report.h"
#include "tests/unit/report_fixture.h"

static char *html;
static size_t html_len;
static sqlite3 *db;

static void setup(void)
{
	db = pmt_db_new();
	html = pmt_render(db, REPORT_HTML, false, false, &html_len);
}

static void teardown(void)
{
	free(html);
	sqlite3_close(db);
}

TestSuite(report_html, .init = setup, .fini = teardown);

Test(report_html, no_script_anywhere)
{
	cr_expect_null(strcasestr(html, "<script"), "a <script in the report");
	cr_expect_null(strcasestr(html, "javascript:"));
	cr_expect(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL, "escaped name");
	/* the capture list by directory: the name's "/" splits it, both halves escaped */
	cr_expect(strstr(html, "uploads/&lt;script&gt;x&lt;/</code>") != NULL);
	cr_expect(strstr(html, "<code>script&gt;\\x1b[2J.pcapng</code>") != NULL);
}

Test(report_html, no_attribute_from_packets)
{
	cr_expect_null(strstr(html, "\"onmouseover"), "an unescaped quote before onmouseover");
	cr_expect(strstr(html, "&quot;onmouseover=alert(1) x=&quot;") != NULL);
	/* inside every tag: no on...= event handler attribute */
	for (const char *p = html; (p = strchr(p, '<')); p++) {
		const char *end = strchr(p, '>');
		cr_assert_not_null(end);
		for (const char *q = p; q < end; q++)
			if (isspace((unsigned char)q[0]) && strncasecmp(q + 1, "on", 2) == 0) {
				size_t k = 3;
				while (isalpha((unsigned char)q[k]))
					k++;
				cr_expect(q[k] != '=', "event handler attribute in %.60s", p);
			}
	}
}

Test(report_html, self_contained_with_csp)
{
	cr_expect(strstr(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
			       "'none'; style-src 'unsafe-inline'; img-src data:\">") != NULL);
	cr_expect(strstr(html, "<meta name=\"viewport\" content=\"width=device-width, "
			       "initial-scale=1\">") != NULL);
	cr_expect(strstr(html, "@media print") != NULL);
	cr_expect(strstr(html, "prefers-color-scheme:dark") != NULL);
	static const char *const external[] = {"<link",	      "<img",	  "<iframe", "<object",
					       "<embed",      " src=",	  "@import", "url(",
					       "href=\"http", "href=\"//"};
	for (size_t i = 0; i < sizeof(external) / sizeof(external[0]); i++)
		cr_expect_null(strcasestr(html, external[i]), "external resource: %s", external[i]);
}

Test(report_html, every_finding_anchored_and_linked)
{
	for (int id = 1; id <= 8; id++) {
		char anchor[48], link[48];
		snprintf(anchor, sizeof(anchor), "id=\"finding-%d\"", id);
		snprintf(link, sizeof(link), "href=\"#finding-%d\"", id);
		cr_expect(strstr(html, anchor) != NULL, "%s", anchor);
		cr_expect(strstr(html, link) != NULL, "%s", link);
	}
	size_t svgs = 0;
	for (const char *p = html; (p = strstr(p, "<svg")); p++)
		svgs++;
	cr_expect_eq(svgs, 9, "one timeline per finding and one overall");
	cr_expect(strstr(html, "no reply (outage)") != NULL, "outage window marked");
}

Test(report_html, clean_bytes)
{
	cr_expect(pmt_utf8_valid(html, html_len));
	for (size_t i = 0; i < html_len; i++)
		cr_expect((unsigned char)html[i] >= 0x20 || html[i] == '\n', "control byte at %zu",
			  i);
	cr_expect(strstr(html, "\\x1b[31mred\\xff\\xfe.example") != NULL);
	cr_expect(strstr(html, "1b5b33316d726564fffe2e6578616d706c65") != NULL, "raw bytes in hex");
}

Test(report_html, advice_and_captures)
{
	cr_expect(strstr(html, "ss -ulpn &#39;sport = :53&#39;") != NULL);
	cr_expect(strstr(html, "fixes 85%") != NULL);
	cr_expect(strstr(html, "unmeasured") != NULL);
	cr_expect(strstr(html, "record 18 is cut: wanted 1514 bytes, got 600 &lt;b&gt;") != NULL);
	cr_expect(strstr(html, "quote.truncated</code> ×3") != NULL);
}
