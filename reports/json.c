/* json.c - the JSON report of SPEC §7, built by SQLite's JSON functions (RFC 8259, valid UTF-8). */
#include <string.h>

#include "reports/report_int.h"

/* Knowledge-base advice per finding, in temporary tables the JSON query reads. TEMP tables
 * live in the connection's own temp database: the main database is not written. */
static const char SQL_TEMP[] =
    "CREATE TEMP TABLE IF NOT EXISTS pm_report_meta (finding_id INTEGER PRIMARY KEY,"
    " title TEXT, class TEXT, summary TEXT, cause TEXT, kb_service TEXT, note TEXT,"
    " fix_rate REAL, fix_source TEXT, rank INTEGER, impact REAL, display_filter TEXT,"
    " sampled INTEGER, frames_more INTEGER);"
    "CREATE TEMP TABLE IF NOT EXISTS pm_report_frames (finding_id INTEGER, ord INTEGER,"
    " path TEXT, capture_id INTEGER, frames TEXT, more INTEGER);"
    "CREATE INDEX IF NOT EXISTS temp.pm_report_frames_f ON pm_report_frames (finding_id, ord);"
    "CREATE TEMP TABLE IF NOT EXISTS pm_report_advice (finding_id INTEGER, kind TEXT,"
    " ord INTEGER, text TEXT, why TEXT, rate REAL, source TEXT);"
    "CREATE TEMP TABLE IF NOT EXISTS pm_report_cmd (finding_id INTEGER, kind TEXT,"
    " ord INTEGER, n INTEGER, os TEXT, command TEXT);"
    /* looked up per finding: hundreds of findings must not each scan every row */
    "CREATE INDEX IF NOT EXISTS temp.pm_report_advice_f ON pm_report_advice (finding_id, kind, "
    "ord);"
    "CREATE INDEX IF NOT EXISTS temp.pm_report_cmd_f ON pm_report_cmd (finding_id, kind, ord, n);"
    "CREATE TEMP TABLE IF NOT EXISTS pm_report_cid (finding_id INTEGER, cid TEXT, t INTEGER,"
    " PRIMARY KEY (finding_id, cid)) WITHOUT ROWID;"
    "CREATE TEMP TABLE IF NOT EXISTS pm_report_cidn (finding_id INTEGER PRIMARY KEY,"
    " complete INTEGER);"
    "DELETE FROM temp.pm_report_meta; DELETE FROM temp.pm_report_advice;"
    " DELETE FROM temp.pm_report_cmd; DELETE FROM temp.pm_report_frames;"
    " DELETE FROM temp.pm_report_cid; DELETE FROM temp.pm_report_cidn;";

static const char SQL_DROP[] = "DROP TABLE IF EXISTS temp.pm_report_meta;"
			       "DROP TABLE IF EXISTS temp.pm_report_advice;"
			       "DROP TABLE IF EXISTS temp.pm_report_cmd;"
			       "DROP TABLE IF EXISTS temp.pm_report_frames;"
			       "DROP TABLE IF EXISTS temp.pm_report_cid;"
			       "DROP TABLE IF EXISTS temp.pm_report_cidn;";

static const char SQL_INS_META[] =
    "INSERT INTO temp.pm_report_meta VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
    " ?12, ?13, ?14)";
static const char SQL_INS_FRAMES[] =
    "INSERT INTO temp.pm_report_frames VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_INS_ADVICE[] =
    "INSERT INTO temp.pm_report_advice VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_INS_CMD[] = "INSERT INTO temp.pm_report_cmd VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* A JSON array of the strings in a JSON-array column, each escaped (pm_text); an array whose
 * text is plain printable ASCII without escapes is taken as it is (pm_plain). */
#define STRINGS(col)                                                                               \
	"(CASE WHEN pm_plain(" col ") AND json_valid(" col ") AND json_type(" col ") = 'array'"    \
	" THEN json(" col ") ELSE "                                                                \
	"json((SELECT json_group_array(pm_text(value)) FROM (SELECT value FROM json_each("         \
	"CASE WHEN " col " IS NULL THEN '[]' WHEN json_valid(" col ") THEN " col                   \
	" ELSE json_array(" col ") END) ORDER BY key))) END)"

/* The Community IDs of the flows a finding's first CID_SAMPLE events quote (fill_cids: a
 * report reads a bounded part of a finding, whatever its size): `community_id` when the
 * finding has no more events than that and they all concern one flow (else null),
 * `community_ids` the first 20 in the order they were first refused, `community_id_count`
 * how many flows there are, null when the finding has more events than were read. */
#define CID_SAMPLE 20
#define CID_COMPLETE "(SELECT complete FROM temp.pm_report_cidn WHERE finding_id = f0.id)"
#define COMMUNITY_IDS                                                                              \
	"  'community_id', CASE WHEN " CID_COMPLETE " THEN (SELECT CASE WHEN COUNT(*) = 1"         \
	" THEN MIN(cid) END FROM temp.pm_report_cid WHERE finding_id = f0.id) END,"                \
	"  'community_ids', json((SELECT json_group_array(cid) FROM (SELECT cid FROM"              \
	" temp.pm_report_cid WHERE finding_id = f0.id ORDER BY t, cid LIMIT 20))),"                \
	"  'community_id_count', CASE WHEN " CID_COMPLETE " THEN (SELECT COUNT(*) FROM"            \
	" temp.pm_report_cid WHERE finding_id = f0.id) END"

static const char SQL_CID_EVENTS[] =
    "SELECT src, sport, dst, dport, proto, ts_ns FROM events WHERE finding_id = ?1"
    " ORDER BY ts_ns, id LIMIT ?2";
static const char SQL_INS_CID[] = "INSERT INTO temp.pm_report_cid VALUES (?1, ?2, ?3)"
				  " ON CONFLICT DO UPDATE SET t = min(t, excluded.t)";
static const char SQL_INS_CIDN[] = "INSERT INTO temp.pm_report_cidn VALUES (?1, ?2)";

/* The report in one statement. Its literal is pieced with the macros above, which
 * clang-format 14 cannot lay out (it splits the pieces into letters): kept as written. */
// clang-format off
static const char SQL_REPORT[] =
	"SELECT json_object('tool', 'portmortem', 'version', ?1,"
	" 'filter', json(?2), 'findings_in_database', ?3,"
	" 'captures', json((SELECT json_group_array(json(c)) FROM (SELECT json_object("
	"  'path', pm_text(path), 'link_type', pm_text(link_type_name), 'packets', packets,"
	"  'first_packet', pm_iso(first_ns, precision), 'last_packet', pm_iso(last_ns, precision),"
	"  'errors', CASE WHEN read_error IS NULL THEN json_array()"
	"   ELSE json_array(pm_text(read_error)) END,"
	"  'format', pm_text(format), 'link_type_number', link_type,"
	"  'precision', precision, 'size', size, 'bytes', bytes, 'udp_packets', udp_packets,"
	"  'icmp_errors', icmp_errors, 'port_unreachables', port_unreachables,"
	"  'complete', json(CASE WHEN complete THEN 'true' ELSE 'false' END),"
	"  'stats_capped', json(CASE WHEN stats_capped THEN 'true' ELSE 'false' END),"
	"  'filter', pm_text(filter), 'content_hash', pm_text(content_hash),"
	"  'sha256', pm_text(sha256),"
	"  'anomalies', json((SELECT json_group_object(pm_text(name), count) FROM"
	"   (SELECT name, count FROM capture_anomalies a WHERE a.capture_id = c0.id ORDER BY name)))"
	" ) AS c FROM captures c0 WHERE id IN temp.pm_sel_c ORDER BY first_ns, path, id))),"
	" 'findings', json((SELECT json_group_array(json(f)) FROM (SELECT json_object("
	"  'diagnosis', pm_text(diagnosis), 'secondary', " STRINGS("f0.secondary") ","
	"  'server_ip', pm_text(server_ip), 'server_port', server_port, 'proto', pm_text(proto),"
	"  'service', pm_text(service), 'ports', ports, 'errors', errors, 'requests', requests,"
	"  'replies', replies, 'clients', " STRINGS("f0.clients") ","
	"  'reporters', " STRINGS("f0.reporters") ","
	"  'first_error', pm_iso(first_error_ns, precision),"
	"  'last_error', pm_iso(last_error_ns, precision),"
	"  'evidence', " STRINGS("f0.evidence") ","
	"  'workarounds', json((SELECT json_group_array(json_object('text', pm_text(a.text),"
	"   'success_rate', a.rate, 'source', pm_text(a.source), 'commands', json((SELECT"
	"   json_group_array(json_object('os', k.os, 'command', pm_text(k.command))) FROM"
	"   (SELECT os, command FROM temp.pm_report_cmd k WHERE k.finding_id = a.finding_id"
	"   AND k.kind = a.kind AND k.ord = a.ord ORDER BY n) k)))) FROM (SELECT * FROM"
	"   temp.pm_report_advice WHERE finding_id = f0.id AND kind = 'do' ORDER BY ord) a)),"
	"  'dead_ends', json((SELECT json_group_array(json_object('text', pm_text(a.text),"
	"   'fail_rate', a.rate, 'why', pm_text(a.why), 'source', pm_text(a.source)))"
	"   FROM (SELECT * FROM temp.pm_report_advice WHERE finding_id = f0.id"
	"   AND kind = 'dont' ORDER BY ord) a)),"
	"  'id', id, 'confidence', pm_text(confidence), 'severity', severity,"
	"  'source_ip', pm_text(NULLIF(source_ip, '')), 'related', pm_text(related),"
	"  'outage_start', pm_iso(outage_start_ns, precision),"
	"  'outage_end', pm_iso(outage_end_ns, precision), 'precision', precision,"
	"  'names', json((SELECT json_group_array(json_object("
	"   'name', pm_hexname(h, n), 'hex', pm_hexnorm(h, n),"
	"   'type', CASE WHEN tt = 'text' THEN pm_text(t) ELSE t END, 'count', c))"
	"   FROM (SELECT json_extract(value, '$.hex') AS h, json_extract(value, '$.name') AS n,"
	"   json_type(value, '$.type') AS tt, json_extract(value, '$.type') AS t,"
	"   json_extract(value, '$.count') AS c FROM json_each("
	"   CASE WHEN json_valid(f0.names) THEN f0.names ELSE '[]' END)"
	"   WHERE json_type(value) = 'object' ORDER BY c DESC, key))),"
	"  'title', pm_text(m.title), 'class', pm_text(m.class), 'summary', pm_text(m.summary),"
	"  'cause', pm_text(m.cause), 'kb_service', pm_text(m.kb_service),"
	"  'service_note', pm_text(m.note), 'fix_rate', m.fix_rate,"
	"  'fix_source', pm_text(m.fix_source),"
	"  'rank', m.rank, 'impact', round(m.impact, 1),"
	"  'capture_points', " STRINGS("f0.capture_points") ","
	"  'frames', json((SELECT json_group_object(r.path, json(r.frames)) FROM (SELECT * FROM"
	"   temp.pm_report_frames r WHERE r.finding_id = f0.id ORDER BY ord) r)),"
	"  'frames_complete', json(CASE WHEN m.frames_more THEN 'false' ELSE 'true' END),"
	"  'display_filter', m.display_filter,"
	"  'display_filter_sampled', json(CASE WHEN m.sampled THEN 'true' ELSE 'false' END),"
	COMMUNITY_IDS
	" ) AS f FROM findings f0 JOIN temp.pm_report_meta m ON m.finding_id = f0.id"
	" ORDER BY m.rank))))";
// clang-format on

struct inserts {
	sqlite3 *db;
	sqlite3_stmt *meta, *advice, *cmd, *frames;
};

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int step_reset(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_item(struct inserts *in, int64_t id, int ord, const struct kb_adv_item *it)
{
	const char *kind = it->is_dont ? "dont" : "do";
	sqlite3_stmt *st = in->advice;
	int rc = sqlite3_bind_int64(st, 1, id) | bind_text(st, 2, kind) |
		 sqlite3_bind_int(st, 3, ord) | bind_text(st, 4, it->text) |
		 bind_text(st, 5, it->why) |
		 (it->has_rate ? sqlite3_bind_double(st, 6, it->rate) : sqlite3_bind_null(st, 6)) |
		 bind_text(st, 7, it->source);
	if (rc != SQLITE_OK || step_reset(st) < 0)
		return -1;
	for (int c = 0; c < it->n_cmd; c++) {
		st = in->cmd;
		rc = sqlite3_bind_int64(st, 1, id) | bind_text(st, 2, kind) |
		     sqlite3_bind_int(st, 3, ord) | sqlite3_bind_int(st, 4, c) |
		     bind_text(st, 5, kb_os_title(it->os[c])) | bind_text(st, 6, it->cmd[c]);
		if (rc != SQLITE_OK || step_reset(st) < 0)
			return -1;
	}
	return 0;
}

/* Whether the finding has frames that are not listed (in more captures, or more in one). */
static bool frames_more(const struct rep_finding *f)
{
	bool more = f->frames_more_caps;
	for (size_t i = 0; i < f->n_frames; i++)
		more |= f->frames[i].more;
	return more;
}

static int insert_advice(struct inserts *in, const struct rep_finding *f, const struct kb_advice *a)
{
	sqlite3_stmt *st = in->meta;
	int rc =
	    sqlite3_bind_int64(st, 1, f->id) | bind_text(st, 2, a->title) |
	    bind_text(st, 3, a->klass) | bind_text(st, 4, a->summary) | bind_text(st, 5, a->cause) |
	    bind_text(st, 6, a->service_id) | bind_text(st, 7, a->service_note) |
	    (a->has_fix ? sqlite3_bind_double(st, 8, a->fix_rate) : sqlite3_bind_null(st, 8)) |
	    bind_text(st, 9, a->fix_source) | sqlite3_bind_int64(st, 10, (int64_t)f->rank) |
	    sqlite3_bind_double(st, 11, f->impact) | bind_text(st, 12, f->display_filter) |
	    sqlite3_bind_int(st, 13, f->filter_sampled) | sqlite3_bind_int(st, 14, frames_more(f));
	if (rc != SQLITE_OK || step_reset(st) < 0)
		return -1;
	for (size_t i = 0; i < f->n_frames; i++) {
		const struct rep_frames *r = &f->frames[i];
		struct sbuf b;
		sb_init(&b);
		for (int k = 0; k < r->n; k++)
			sb_printf(&b, "%s%lld", k ? "," : "[", (long long)r->frame[k]);
		sb_puts(&b, r->n ? "]" : "[]");
		st = in->frames;
		rc = sqlite3_bind_int64(st, 1, f->id) | sqlite3_bind_int(st, 2, (int)i) |
		     bind_text(st, 3, r->path) | sqlite3_bind_int64(st, 4, r->capture_id) |
		     bind_text(st, 5, b.oom ? "[]" : sb_str(&b)) | sqlite3_bind_int(st, 6, r->more);
		sb_free(&b);
		if (rc != SQLITE_OK || step_reset(st) < 0)
			return -1;
	}
	for (int i = 0; i < a->n_item; i++)
		if (insert_item(in, f->id, i, &a->item[i]) < 0)
			return -1;
	return 0;
}

/* Fills the temporary advice tables for every finding. */
static int fill_advice(sqlite3 *db, const struct rep_model *m, char *errbuf)
{
	struct inserts in = {.db = db};
	int rc = -1;
	if (sqlite3_prepare_v2(db, SQL_INS_META, -1, &in.meta, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_INS_ADVICE, -1, &in.advice, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_INS_CMD, -1, &in.cmd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_INS_FRAMES, -1, &in.frames, NULL) != SQLITE_OK) {
		rep_sql_error(db, errbuf, "preparing the advice tables");
		goto out;
	}
	for (size_t i = 0; i < m->n_fnd; i++) {
		struct kb_advice a;
		if (rep_advise(&m->fnd[i], &a, errbuf) < 0)
			goto out;
		int r = insert_advice(&in, &m->fnd[i], &a);
		kb_advice_free(&a);
		if (r < 0) {
			rep_sql_error(db, errbuf, "filling the advice tables");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(in.meta);
	sqlite3_finalize(in.advice);
	sqlite3_finalize(in.cmd);
	sqlite3_finalize(in.frames);
	return rc;
}

/* The Community IDs of each finding's first CID_SAMPLE events (one more is read to know
 * whether there are more), each computed once. */
static int fill_cids(sqlite3 *db, const struct rep_model *m, char *errbuf)
{
	sqlite3_stmt *ev = NULL, *ins = NULL, *insn = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(db, SQL_CID_EVENTS, -1, &ev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_INS_CID, -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_INS_CIDN, -1, &insn, NULL) != SQLITE_OK) {
		rep_sql_error(db, errbuf, "preparing the Community IDs");
		goto out;
	}
	for (size_t i = 0; i < m->n_fnd; i++) {
		int64_t id = m->fnd[i].id;
		int n = 0, step;
		sqlite3_bind_int64(ev, 1, id);
		sqlite3_bind_int(ev, 2, CID_SAMPLE + 1);
		while ((step = sqlite3_step(ev)) == SQLITE_ROW && ++n <= CID_SAMPLE) {
			char cid[REPORT_COMMUNITY_ID_LEN];
			int sport = sqlite3_column_type(ev, 1) == SQLITE_NULL
					? -1
					: sqlite3_column_int(ev, 1);
			int dport = sqlite3_column_type(ev, 3) == SQLITE_NULL
					? -1
					: sqlite3_column_int(ev, 3);
			if (report_community_id((const char *)sqlite3_column_text(ev, 0), sport,
						(const char *)sqlite3_column_text(ev, 2), dport,
						sqlite3_column_type(ev, 4) == SQLITE_NULL
						    ? -1
						    : sqlite3_column_int(ev, 4),
						0, cid, sizeof cid) < 0)
				continue;
			sqlite3_bind_int64(ins, 1, id);
			sqlite3_bind_text(ins, 2, cid, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(ins, 3, sqlite3_column_int64(ev, 5));
			if (step_reset(ins) < 0) {
				sqlite3_reset(ev);
				rep_sql_error(db, errbuf, "storing the Community IDs");
				goto out;
			}
		}
		sqlite3_reset(ev);
		sqlite3_bind_int64(insn, 1, id);
		sqlite3_bind_int(insn, 2, n <= CID_SAMPLE);
		if (step_reset(insn) < 0) {
			rep_sql_error(db, errbuf, "storing the Community IDs");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(ev);
	sqlite3_finalize(ins);
	sqlite3_finalize(insn);
	return rc;
}

/* The filter as JSON: {"label": ["service-down"], ...}, or null. */
static int bind_filter(sqlite3_stmt *st, const struct rep_model *m)
{
	int rc;
	if (!m->filter)
		return sqlite3_bind_null(st, 2);
	/* built here: the values are the user's (escaped), kinds are our own words */
	struct sbuf b;
	sb_init(&b);
	sb_putc(&b, '{');
	for (int k = RF_CAPTURE, first = 1; k <= RF_SERVICE; k++) {
		if (!rep_filter_has(m->filter, (enum report_filter_kind)k))
			continue;
		sb_printf(&b, "%s\"%s\":[", first ? "" : ",", report_filter_kind_name(k));
		first = 0;
		for (int i = 0, n = 0; i < m->filter->n; i++) {
			if ((int)m->filter->item[i].kind != k)
				continue;
			sb_puts(&b, n++ ? ",\"" : "\"");
			struct sbuf e;
			sb_init(&e);
			esc_text(&e, (const uint8_t *)m->filter->item[i].text,
				 strlen(m->filter->item[i].text));
			for (const char *c = sb_str(&e); *c; c++) {
				if (*c == '"' || *c == '\\')
					sb_putc(&b, '\\');
				sb_putc(&b, *c);
			}
			sb_free(&e);
			sb_putc(&b, '"');
		}
		sb_putc(&b, ']');
	}
	sb_putc(&b, '}');
	rc = b.oom ? SQLITE_NOMEM : sqlite3_bind_text(st, 2, sb_str(&b), -1, SQLITE_TRANSIENT);
	sb_free(&b);
	return rc;
}

static int write_report(sqlite3 *db, const struct report_options *opt, const struct rep_model *m,
			FILE *out, char *errbuf)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, SQL_REPORT, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rep_sql_error(db, errbuf, "preparing the JSON report");
	rc = bind_text(st, 1, opt->version ? opt->version : "") | bind_filter(st, m) |
	     sqlite3_bind_int64(st, 3, (int64_t)m->n_fnd_all);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *json = (const char *)sqlite3_column_text(st, 0);
		fprintf(out, "%s\n", json ? json : "{}");
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		rep_sql_error(db, errbuf, "building the JSON report");
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

int report_json(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	struct rep_model m;
	int rc = rep_model_load(db, opt, &m, errbuf);
	if (rc == 0 && sqlite3_exec(db, "SAVEPOINT pm_report_json", NULL, NULL, NULL) != SQLITE_OK)
		rc = rep_sql_error(db, errbuf, "starting the JSON report");
	if (rc == 0) {
		if (sqlite3_exec(db, SQL_TEMP, NULL, NULL, NULL) != SQLITE_OK)
			rc = rep_sql_error(db, errbuf, "creating the advice tables");
		if (rc == 0)
			rc = fill_advice(db, &m, errbuf);
		if (rc == 0)
			rc = fill_cids(db, &m, errbuf);
		if (rc == 0)
			rc = write_report(db, opt, &m, out, errbuf);
		/* best effort: temporary tables vanish with the connection anyway */
		(void)sqlite3_exec(db, SQL_DROP, NULL, NULL, NULL);
		if (sqlite3_exec(db, "RELEASE pm_report_json", NULL, NULL, NULL) != SQLITE_OK &&
		    rc == 0)
			rc = rep_sql_error(db, errbuf, "finishing the JSON report");
	}
	rep_model_free(&m);
	return rc;
}
