/* events_cmd.c - `portmortem events`: every ICMP destination unreachable, one line each (SPEC §7).
 */
#include "analyzer/commands.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analyzer/diagnose.h"
#include "analyzer/scan.h"
#include "db/db.h"
#include "reports/report.h"

struct events_out {
	bool json;
	FILE *out;
	const char *capture; /* escaped capture path */
	int precision;
	sqlite3 *mem; /* in-memory database: json_object() builds each line */
	sqlite3_stmt *st;
	/* -d: the database the captures were analyzed into, and the stored capture being read */
	sqlite3 *db;
	sqlite3_stmt *file_cache, *capture_id, *finding;
	int64_t stored_id; /* captures.id of the capture being read, -1 when not stored */
};

static const char EVENT_JSON_SQL[] =
    "SELECT json_object('time', ?1, 'capture', ?2, 'frame', ?3, 'reporter', ?4, 'ttl', ?5, "
    "'family', ?6, 'type', ?7, 'code', ?8, 'proto', ?9, 'src', ?10, 'sport', ?11, "
    "'dst', ?12, 'dport', ?13, 'quote_len', ?14, 'hint', ?15, 'anomalies', json(?16), "
    "'community_id', ?17, 'finding_id', ?18, 'diagnosis', ?19)";

struct event_text {
	char time[40], reporter[48], src[48], dst[48], hint[1200], anomalies[1024], proto[8];
	char community_id[REPORT_COMMUNITY_ID_LEN]; /* of the quoted flow, "" when none */
	int64_t finding_id; /* -d: the finding that claimed the event, -1 when none */
	char diagnosis[64]; /* -d: its diagnosis (escaped), "" when none */
};

/* -d: the finding that claimed the event at `frame` of the stored capture being read. */
static void stored_finding(struct events_out *eo, uint64_t frame, struct event_text *t)
{
	t->finding_id = -1;
	t->diagnosis[0] = '\0';
	if (!eo->db || eo->stored_id < 0)
		return;
	sqlite3_stmt *st = eo->finding;
	sqlite3_bind_int64(st, 1, eo->stored_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)frame);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		t->finding_id = sqlite3_column_int64(st, 0);
		const unsigned char *d = sqlite3_column_text(st, 1);
		if (d)
			pm_bytes_escape(d, (size_t)sqlite3_column_bytes(st, 1), t->diagnosis,
					sizeof t->diagnosis);
	}
	sqlite3_reset(st);
}

static void event_text(const struct dissection *d, int64_t ts, int precision, bool json,
		       struct event_text *t)
{
	const struct quote *q = &d->icmp.q;
	char raw[600];
	pm_fmt_utc(ts, precision, true, t->time, sizeof t->time);
	pm_addr_str(&d->src, t->reporter, sizeof t->reporter);
	pm_addr_str(&q->src, t->src, sizeof t->src);
	pm_addr_str(&q->dst, t->dst, sizeof t->dst);
	size_t raw_len = app_hint_bytes(&q->hint, raw, sizeof raw);
	pm_bytes_escape((const uint8_t *)raw, raw_len, t->hint, sizeof t->hint);
	anomaly_list(d->anomalies, json, t->anomalies, sizeof t->anomalies);
	if (!q->ip_version || report_community_id(t->src, q->has_ports ? q->sport : -1, t->dst,
						  q->has_ports ? q->dport : -1, q->proto, 0,
						  t->community_id, sizeof t->community_id) < 0)
		t->community_id[0] = '\0';
	const char *pn = proto_name(q->proto);
	if (pn)
		snprintf(t->proto, sizeof t->proto, "%s", pn);
	else
		snprintf(t->proto, sizeof t->proto, "%u", q->proto);
}

static int print_tsv(struct events_out *eo, uint64_t frame, const struct dissection *d,
		     const struct event_text *t)
{
	const struct quote *q = &d->icmp.q;
	char sport[8] = "-", dport[8] = "-";
	if (q->has_ports) {
		snprintf(sport, sizeof sport, "%u", q->sport);
		snprintf(dport, sizeof dport, "%u", q->dport);
	}
	bool has_ip = q->ip_version != 0;
	fprintf(eo->out, "%s\t%s\t%llu\t%s\t%u\t%s\t%u\t%u\t%s\t%s\t%s\t%s\t%s\t%u\t%s\t%s\t%s",
		t->time, eo->capture, (unsigned long long)frame, t->reporter, d->ttl,
		d->icmp.family == 6 ? "icmp6" : "icmp", d->icmp.type, d->icmp.code,
		has_ip ? t->proto : "-", has_ip ? t->src : "-", sport, has_ip ? t->dst : "-", dport,
		q->quote_len, t->hint[0] ? t->hint : "-", t->anomalies[0] ? t->anomalies : "-",
		t->community_id[0] ? t->community_id : "-");
	if (eo->db && t->finding_id >= 0)
		fprintf(eo->out, "\t%lld\t%s\n", (long long)t->finding_id, t->diagnosis);
	else
		fputs(eo->db ? "\t-\t-\n" : "\n", eo->out);
	return ferror(eo->out) ? -1 : 0;
}

static int print_json(struct events_out *eo, uint64_t frame, const struct dissection *d,
		      const struct event_text *t)
{
	const struct quote *q = &d->icmp.q;
	sqlite3_stmt *st = eo->st;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, t->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eo->capture, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)frame);
	sqlite3_bind_text(st, 4, t->reporter, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, d->ttl);
	sqlite3_bind_text(st, 6, d->icmp.family == 6 ? "icmp6" : "icmp", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, d->icmp.type);
	sqlite3_bind_int(st, 8, d->icmp.code);
	if (q->ip_version) {
		sqlite3_bind_text(st, 9, t->proto, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, t->src, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 12, t->dst, -1, SQLITE_STATIC);
	}
	if (q->has_ports) {
		sqlite3_bind_int(st, 11, q->sport);
		sqlite3_bind_int(st, 13, q->dport);
	}
	sqlite3_bind_int(st, 14, q->quote_len);
	if (t->hint[0])
		sqlite3_bind_text(st, 15, t->hint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, t->anomalies, -1, SQLITE_STATIC);
	if (t->community_id[0])
		sqlite3_bind_text(st, 17, t->community_id, -1, SQLITE_STATIC);
	if (t->finding_id >= 0) {
		sqlite3_bind_int64(st, 18, t->finding_id);
		sqlite3_bind_text(st, 19, t->diagnosis, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_ROW)
		return -1;
	fprintf(eo->out, "%s\n", (const char *)sqlite3_column_text(st, 0));
	return ferror(eo->out) ? -1 : 0;
}

static int on_packet(const struct cap_pkt *pkt, uint64_t frame, int64_t ts,
		     const struct dissection *d, void *arg)
{
	struct events_out *eo = arg;
	struct event_text t;
	if (d->kind != PK_ICMP_UNREACH)
		return SCAN_GO_ON;
	event_text(d, ts, eo->precision, eo->json, &t);
	stored_finding(eo, frame, &t);
	return (eo->json ? print_json(eo, frame, d, &t) : print_tsv(eo, frame, d, &t))
		   ? SCAN_OUTPUT_ERROR
		   : SCAN_GO_ON;
}

struct events_run {
	struct events_out eo;
	const struct cap_options *copt;
	int status;
};

/* -d: the id of the capture `path` was stored as (the same file, unchanged since: path, size,
 * modification time and inode, table capture_files), or -1 after saying why on standard
 * error. */
static int64_t stored_capture(struct events_out *eo, const char *path, const char *filter)
{
	char real[PATH_MAX], key[4200], errbuf[DB_ERRBUF_SIZE];
	struct stat sb;
	if (!eo->db)
		return -1;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || !realpath(path, real)) {
		fprintf(stderr,
			"portmortem: %s: not a file the database can know: no finding ids\n", path);
		return -1;
	}
	struct db_file_id f = {real, (int64_t)sb.st_size,
			       (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
			       (int64_t)sb.st_ino};
	int known = db_file_lookup(eo->db, &eo->file_cache, &f, filter, key, sizeof key, errbuf);
	int64_t id = -1;
	if (known == 1) {
		sqlite3_bind_text(eo->capture_id, 1, key, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(eo->capture_id) == SQLITE_ROW)
			id = sqlite3_column_int64(eo->capture_id, 0);
		sqlite3_reset(eo->capture_id);
	}
	if (id < 0)
		fprintf(stderr, "portmortem: %s: %s: no finding ids\n", path,
			known < 0 ? errbuf : "not analyzed into this database (or changed since)");
	return id;
}

static void events_one(const char *path, const char *werr, void *arg)
{
	struct events_run *er = arg;
	char errbuf[CAP_ERRBUF_SIZE], esc_path[4096];
	struct cap_reader *r = NULL;
	struct scan_stats st;
	if (werr) {
		fprintf(stderr, "portmortem: %s: %s\n", path, werr);
		er->status = 1;
		return;
	}
	struct cap_options o = *er->copt;
	o.no_hash = true; /* events are not stored: no identity needed */
	if (cap_open(path, &o, &r, errbuf) < 0) {
		fprintf(stderr, "portmortem: %s: %s\n", path, errbuf);
		er->status = 1;
		return;
	}
	pm_bytes_escape((const uint8_t *)path, strlen(path), esc_path, sizeof esc_path);
	er->eo.capture = esc_path;
	er->eo.stored_id = stored_capture(&er->eo, path, er->copt->filter);
	er->eo.precision = cap_precision(r);
	/* in one thread: on_packet has next to nothing to do beside reading and dissecting, so
	 * a second thread would only pass records on (10 M small packets: no faster, more CPU) */
	int rc = scan_capture(r, &st, on_packet, &er->eo, NULL);
	if (rc == -1) {
		fprintf(stderr, "portmortem: %s: %s\n", path, cap_error(r));
		er->status = 1;
	} else if (rc == SCAN_OUTPUT_ERROR) {
		fprintf(stderr, "portmortem: %s: cannot write the events\n", path);
		er->status = 1;
	}
	cap_close(r);
}

static void close_stored(struct events_out *eo)
{
	sqlite3_finalize(eo->file_cache);
	sqlite3_finalize(eo->capture_id);
	sqlite3_finalize(eo->finding);
	sqlite3_close(eo->db);
	eo->db = NULL;
}

/* -d: opens the database read-only, with the lookups of stored_capture() and
 * stored_finding(). 0, or -1 after saying why. */
static int open_stored(struct events_out *eo, const char *path)
{
	char errbuf[DB_ERRBUF_SIZE];
	if (db_open_readonly(path, &eo->db, errbuf) < 0) {
		fprintf(stderr, "portmortem: database %s: %s\n", path, errbuf);
		return -1;
	}
	if (sqlite3_prepare_v2(eo->db, "SELECT id FROM captures WHERE content_hash = ?1", -1,
			       &eo->capture_id, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(eo->db,
			       "SELECT e.finding_id, f.diagnosis FROM events e LEFT JOIN"
			       " findings f ON f.id = e.finding_id WHERE e.capture_id = ?1"
			       " AND e.frame = ?2 LIMIT 1",
			       -1, &eo->finding, NULL) != SQLITE_OK) {
		fprintf(stderr, "portmortem: database %s: %s\n", path, sqlite3_errmsg(eo->db));
		return -1;
	}
	if (!diagnose_current(eo->db))
		fprintf(stderr,
			"portmortem: database %s: its findings are older than its captures;"
			" 'portmortem report -d %s' shows them current\n",
			path, path);
	return 0;
}

int cmd_events(const struct cli *cli)
{
	struct cap_options copt = cli->cap_opt;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* One capture at a time: the other cores may decompress beside it. */
	atomic_int helpers = cores > 1 ? (int)(cores - 1) : 0;
	copt.decode_threads = &helpers;
	struct events_run er = {.copt = &copt};
	er.eo.json = cli->format == REPORT_JSON;
	er.eo.out = stdout;
	if (cli->db_given && open_stored(&er.eo, cli->db_path) < 0) {
		er.status = PM_EXIT_DB;
		goto done;
	}
	if (er.eo.json) {
		if (sqlite3_open(":memory:", &er.eo.mem) != SQLITE_OK ||
		    sqlite3_prepare_v2(er.eo.mem, EVENT_JSON_SQL, -1, &er.eo.st, NULL) !=
			SQLITE_OK) {
			fprintf(stderr, "portmortem: sqlite: %s\n", sqlite3_errmsg(er.eo.mem));
			er.status = 1;
			goto done;
		}
	} else {
		fputs("time\tcapture\tframe\treporter\tttl\tfamily\ttype\tcode\tproto\tsrc\tsport"
		      "\tdst\tdport\tquote_len\thint\tanomalies\tcommunity_id",
		      stdout);
		fputs(er.eo.db ? "\tfinding_id\tdiagnosis\n" : "\n", stdout);
	}
	cap_walk((const char *const *)cli->args, cli->n_args, events_one, &er);
	scan_drop_spares();
	if (fflush(stdout) != 0)
		er.status = 1;
done:
	sqlite3_finalize(er.eo.st);
	sqlite3_close(er.eo.mem);
	close_stored(&er.eo);
	return er.status;
}
