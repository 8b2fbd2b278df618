/* sqlfn.c - SQL functions the report queries use: escaping, hex names and ISO 8601 times. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "dissectors/dissect.h"
#include "reports/report_int.h"

/* The bytes of a value, whatever its type (NULL for SQL NULL). */
static const uint8_t *value_bytes(sqlite3_value *v, size_t *n)
{
	const uint8_t *p;
	if (sqlite3_value_type(v) == SQLITE_NULL)
		return NULL;
	if (sqlite3_value_type(v) == SQLITE_BLOB)
		p = sqlite3_value_blob(v);
	else
		p = sqlite3_value_text(v);
	*n = (size_t)sqlite3_value_bytes(v);
	return p ? p : (const uint8_t *)"";
}

static void result_sbuf(sqlite3_context *cx, struct sbuf *b)
{
	if (b->oom) {
		sqlite3_result_error_nomem(cx);
	} else {
		sqlite3_result_text(cx, sb_str(b), (int)b->len, SQLITE_TRANSIENT);
	}
	sb_free(b);
}

static void fn_escape(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	size_t n = 0;
	const uint8_t *p = value_bytes(argv[0], &n);
	bool name = sqlite3_user_data(cx) != NULL;
	struct sbuf b;
	if (!p) {
		sqlite3_result_null(cx);
		return;
	}
	/* Most values (addresses, our own sentences) need no escape: plain printable ASCII is
	 * what either escaper would give back, so it is returned without a copy. */
	size_t i = 0;
	while (i < n && p[i] >= 0x20 && p[i] < 0x7f && !(name && p[i] == '\\'))
		i++;
	if (i == n && sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
		sqlite3_result_value(cx, argv[0]);
		return;
	}
	sb_init(&b);
	sb_puts(&b, "");
	if (name)
		esc_name(&b, p, n);
	else
		esc_text(&b, p, n);
	result_sbuf(cx, &b);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Decodes hex text into b; false (b unchanged) unless it is an even run of hex digits. */
static bool unhex(sqlite3_value *v, struct sbuf *b)
{
	size_t n = 0;
	const uint8_t *p = sqlite3_value_type(v) == SQLITE_TEXT ? value_bytes(v, &n) : NULL;
	if (!p || n % 2 || n > 2048)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hexval(p[i]) < 0)
			return false;
	for (size_t i = 0; i < n; i += 2)
		sb_putc(b, (char)(hexval(p[i]) << 4 | hexval(p[i + 1])));
	return true;
}

/* pm_hexname(hex, fallback) and pm_hexnorm(hex, fallback): see report_int.h. */
static void fn_hex(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	bool norm = sqlite3_user_data(cx) != NULL;
	struct sbuf raw, b;
	size_t n = 0;
	if (norm && sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
		/* lowercase hex already: normalised as it is */
		const uint8_t *p = value_bytes(argv[0], &n);
		size_t i = 0;
		while (i < n && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			i++;
		if (i == n && n % 2 == 0 && n <= 2048) {
			sqlite3_result_value(cx, argv[0]);
			return;
		}
		n = 0;
	}
	sb_init(&raw);
	if (!unhex(argv[0], &raw)) {
		const uint8_t *p = value_bytes(argv[1], &n);
		if (!p) {
			sb_free(&raw);
			sqlite3_result_null(cx);
			return;
		}
		sb_put(&raw, (const char *)p, n);
	}
	sb_init(&b);
	sb_puts(&b, "");
	if (norm) {
		static const char digits[] = "0123456789abcdef";
		for (size_t i = 0; i < raw.len; i++) {
			sb_putc(&b, digits[(uint8_t)raw.p[i] >> 4]);
			sb_putc(&b, digits[(uint8_t)raw.p[i] & 15]);
		}
	} else {
		esc_name(&b, (const uint8_t *)sb_str(&raw), raw.len);
	}
	sb_free(&raw);
	result_sbuf(cx, &b);
}

/* pm_plain(x): 1 when x is text without a backslash that esc_text() leaves as it is (valid
 * UTF-8, no control character): a JSON array of such strings holds no escape to undo, and is
 * what escaping each of its elements would give. Else 0. */
static void fn_plain(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	size_t n = 0;
	const uint8_t *p =
	    sqlite3_value_type(argv[0]) == SQLITE_TEXT ? value_bytes(argv[0], &n) : NULL;
	if (!p || memchr(p, '\\', n)) {
		sqlite3_result_int(cx, 0);
		return;
	}
	size_t i = 0;
	while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	if (i == n) {
		sqlite3_result_int(cx, 1);
		return;
	}
	struct sbuf b;
	sb_init(&b);
	esc_text(&b, p, n);
	sqlite3_result_int(cx, !b.oom && b.len == n && memcmp(b.p, p, n) == 0);
	sb_free(&b);
}

static void fn_iso(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char buf[48];
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(cx);
		return;
	}
	int prec = sqlite3_value_int(argv[1]) >= 9 ? 9 : 6;
	pm_fmt_utc(sqlite3_value_int64(argv[0]), prec, true, buf, sizeof(buf));
	sqlite3_result_text(cx, buf, -1, SQLITE_TRANSIENT);
}

/* pm_proto(n): the name of IP protocol n ("udp", proto_name()), else n as it is. */
static void fn_proto(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const char *name = NULL;
	sqlite3_int64 n = sqlite3_value_int64(argv[0]);
	if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER && n >= 0 && n <= 255)
		name = proto_name((uint8_t)n);
	if (name)
		sqlite3_result_text(cx, name, -1, SQLITE_STATIC);
	else
		sqlite3_result_value(cx, argv[0]);
}

/* community_id(src, sport, dst, dport, proto): the flow's Community ID v1 (seed 0), NULL when
 * it has none (report_community_id). */
static void fn_community_id(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char id[REPORT_COMMUNITY_ID_LEN];
	int port[2] = {-1, -1};
	for (int i = 0; i < 2; i++)
		if (sqlite3_value_type(argv[1 + 2 * i]) == SQLITE_INTEGER)
			port[i] = sqlite3_value_int(argv[1 + 2 * i]);
	if (sqlite3_value_type(argv[4]) != SQLITE_INTEGER ||
	    report_community_id((const char *)sqlite3_value_text(argv[0]), port[0],
				(const char *)sqlite3_value_text(argv[2]), port[1],
				sqlite3_value_int(argv[4]), 0, id, sizeof id) < 0) {
		sqlite3_result_null(cx);
		return;
	}
	sqlite3_result_text(cx, id, -1, SQLITE_TRANSIENT);
}

int rep_sql_register(sqlite3 *db, char *errbuf)
{
	static int tag; /* non-NULL user data selects the variant */
	const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
	const struct {
		const char *name;
		int n_arg;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
		void *data;
	} fns[] = {
	    {"pm_text", 1, fn_escape, NULL}, {"pm_name", 1, fn_escape, &tag},
	    {"pm_hexname", 2, fn_hex, NULL}, {"pm_hexnorm", 2, fn_hex, &tag},
	    {"pm_iso", 2, fn_iso, NULL},     {"community_id", 5, fn_community_id, NULL},
	    {"pm_plain", 1, fn_plain, NULL}, {"pm_proto", 1, fn_proto, NULL},
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (sqlite3_create_function(db, fns[i].name, fns[i].n_arg, flags, fns[i].data,
					    fns[i].fn, NULL, NULL) != SQLITE_OK)
			return rep_sql_error(db, errbuf, "registering SQL functions");
	/* both buffers are 512 bytes (DB_ERRBUF_SIZE, REPORT_ERRBUF_SIZE) */
	_Static_assert(DB_ERRBUF_SIZE == REPORT_ERRBUF_SIZE, "one error buffer size");
	return db_define_views(db, errbuf);
}

int rep_sql_error(sqlite3 *db, char *errbuf, const char *what)
{
	snprintf(errbuf, REPORT_ERRBUF_SIZE, "%s: %s", what,
		 db ? sqlite3_errmsg(db) : "no database");
	return -1;
}
