/* kb.c - parser and validator of the knowledge base reports/kb.txt (format described in it). */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db.h"
#include "reports/kb_int.h"

extern const char pm_kb_text[];

#define LABEL_NAME(name, severity) name,
const char *const kb_labels[] = {DB_LABELS(LABEL_NAME) NULL};
#undef LABEL_NAME

const struct kb_class kb_classes[] = {
    {"outage", "k-outage", "1;31"},	{"misconfig", "k-misconfig", "1;33"},
    {"firewall", "k-firewall", "1;35"}, {"slow", "k-slow", "1;36"},
    {"benign", "k-benign", "1;32"},	{"security", "k-security", "1;31"},
    {"secondary", "k-secondary", "1"},	{NULL, NULL, NULL},
};

const struct kb_class *kb_class_find(const char *name)
{
	for (const struct kb_class *c = kb_classes; name && c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const char *const kb_os_cmd_keys[] = {"linux-check",
				      "linux-start",
				      "linux-status",
				      "linux-log",
				      "windows-check",
				      "windows-start",
				      "windows-status",
				      "windows-log",
				      "freebsd-check",
				      "freebsd-start",
				      "freebsd-status",
				      "freebsd-log",
				      NULL};

/* Parser state: the output arena, the current section and item, the last value. */
struct parser {
	struct kb_db *db;
	char *w; /* next free byte of db->buf */
	struct kb_section *sec;
	struct kb_item *item;
	char *last; /* value that a continuation line extends, or NULL */
	int line;
	char *err;
	size_t err_len;
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->err_len, "kb.txt:%d: %s", p->line, msg);
	return -1;
}

/* Copies s[0..n) into the arena as a C string. The arena is as large as the input and never
 * receives more than it consumed, so this cannot overflow. */
static char *arena_put(struct parser *p, const char *s, size_t n)
{
	char *d = p->w;
	memcpy(d, s, n);
	d[n] = '\0';
	p->w += n + 1;
	return d;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* "85%" -> 0.85; "unmeasured" -> has_rate false. 0, or -1 when it is neither. */
int kb_parse_rate(const char *s, double *rate, bool *has_rate)
{
	if (strcmp(s, "unmeasured") == 0) {
		*has_rate = false;
		return 0;
	}
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || strcmp(end, "%") != 0 || v < 0 || v > 100)
		return -1;
	*rate = (double)v / 100.0;
	*has_rate = true;
	return 0;
}

static int parse_ports(struct parser *p, const char *s)
{
	while (*s) {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;
		if (end == s)
			return perr(p, "ports: expected a number at \"%s\"", s);
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (lo < 1 || hi > 65535 || hi < lo)
			return perr(p, "ports: bad port or range %ld-%ld", lo, hi);
		if (p->sec->n_r == KB_MAX_RANGES)
			return perr(p, "ports: more than %d entries", KB_MAX_RANGES);
		p->sec->r[p->sec->n_r++] = (struct kb_range){(unsigned)lo, (unsigned)hi};
		s = end + strspn(end, ", ");
	}
	return 0;
}

static int section_start(struct parser *p, const char *s, size_t n)
{
	static const struct {
		const char *word;
		enum kb_kind kind;
	} kinds[] = {{"label ", KB_LABEL}, {"service ", KB_SERVICE}, {"source ", KB_SOURCE}};
	if (n < 2 || s[n - 1] != ']')
		return perr(p, "a section header looks like [service NAME]");
	s++, n -= 2;
	if (p->db->n_s == KB_MAX_SECTIONS)
		return perr(p, "more than %d sections", KB_MAX_SECTIONS);
	struct kb_section *sec = &p->db->s[p->db->n_s];
	memset(sec, 0, sizeof(*sec));
	sec->line = p->line;
	sec->first_item = p->db->n_items;
	if (n == 8 && memcmp(s, "defaults", 8) == 0) {
		sec->kind = KB_DEFAULTS;
	} else {
		size_t i = 0;
		while (i < 3 && strncmp(s, kinds[i].word, strlen(kinds[i].word)) != 0)
			i++;
		if (i == 3)
			return perr(p, "unknown section [%.*s]", (int)n, s);
		size_t wl = strlen(kinds[i].word);
		const char *name = s + wl;
		size_t nl = n - wl;
		trim(&name, &nl);
		if (nl == 0)
			return perr(p, "section without a name");
		sec->kind = kinds[i].kind;
		sec->name = arena_put(p, name, nl);
		if (kb_find(p->db, sec->kind, sec->name))
			return perr(p, "section [%.*s] appears twice", (int)n, s);
	}
	p->db->n_s++;
	p->sec = sec;
	p->item = NULL;
	p->last = NULL;
	return 0;
}

static int item_start(struct parser *p, bool is_dont, char *val)
{
	if (p->sec->kind != KB_LABEL)
		return perr(p, "do: and dont: belong in a [label] section");
	if (p->db->n_items == KB_MAX_ITEMS)
		return perr(p, "more than %d do/dont entries", KB_MAX_ITEMS);
	struct kb_item *it = &p->db->items[p->db->n_items++];
	memset(it, 0, sizeof(*it));
	it->is_dont = is_dont;
	it->text = val;
	it->line = p->line;
	p->sec->n_items++;
	p->item = it;
	return 0;
}

/* A sub-key of the current do:/dont: entry; 1 when `key` is not one. */
static int item_key(struct parser *p, const char *key, char *val)
{
	static const char *const os_names[] = {"linux", "windows", "freebsd"};
	struct kb_item *it = p->item;
	for (int os = 0; os < KB_N_OS; os++) {
		if (strcmp(key, os_names[os]) != 0)
			continue;
		if (it->n_cmd == KB_MAX_CMDS)
			return perr(p, "more than %d commands in one entry", KB_MAX_CMDS);
		it->cmd[it->n_cmd++] = (struct kb_cmd){(enum kb_os)os, val};
		return 0;
	}
	const char **slot = strcmp(key, "why") == 0	 ? &it->why
			    : strcmp(key, "source") == 0 ? &it->source
			    : strcmp(key, "rate") == 0	 ? &it->rate_text
							 : NULL;
	if (!slot)
		return 1;
	if (*slot)
		return perr(p, "%s: given twice for one entry", key);
	*slot = val;
	return 0;
}

bool kb_in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* The settings each kind of section may have: a typo is an error, not a silent new key. */
bool kb_key_allowed(enum kb_kind kind, const char *key)
{
	static const char *const label_keys[] = {"title",    "class",	   "summary", "cause",
						 "fix-rate", "fix-source", "ports",   NULL};
	static const char *const svc_keys[] = {
	    "name",	  "ports",   "daemon",	      "daemons",
	    "versions",	  "process", "unit",	      "windows-service",
	    "freebsd-rc", "config",  "client-config", "probe",
	    "note",	  NULL};
	static const char *const default_keys[] = {
	    "linux-versions", "windows-versions", "freebsd-versions", "probe", "rates-note", NULL};
	static const char *const source_keys[] = {"title", "note", NULL};
	switch (kind) {
	case KB_LABEL:
		return kb_in_list(label_keys, key);
	case KB_SOURCE:
		return kb_in_list(source_keys, key);
	case KB_SERVICE:
		return kb_in_list(svc_keys, key) || kb_in_list(kb_os_cmd_keys, key);
	case KB_DEFAULTS:
		return kb_in_list(default_keys, key) || kb_in_list(kb_os_cmd_keys, key);
	}
	return false;
}

static int field_add(struct parser *p, const char *key, char *val)
{
	struct kb_section *sec = p->sec;
	if (!kb_key_allowed(sec->kind, key))
		return perr(p, "unknown setting %s: in this section", key);
	if (kb_field(sec, key))
		return perr(p, "%s: given twice in one section", key);
	if (sec->n_f == KB_MAX_FIELDS)
		return perr(p, "more than %d settings in one section", KB_MAX_FIELDS);
	sec->f[sec->n_f++] = (struct kb_field){key, val, p->line};
	return 0;
}

static int key_line(struct parser *p, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t kl = colon ? (size_t)(colon - s) : 0;
	for (size_t i = 0; i < kl; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			kl = 0;
	if (kl == 0)
		return perr(p, "expected \"key: value\", got \"%.40s\"", s);
	if (!p->sec)
		return perr(p, "a setting before the first [section]");
	const char *v = colon + 1;
	size_t vl = n - kl - 1;
	trim(&v, &vl);
	char *key = arena_put(p, s, kl);
	char *val = arena_put(p, v, vl);
	p->last = val;
	if (strcmp(key, "do") == 0 || strcmp(key, "dont") == 0)
		return item_start(p, strcmp(key, "dont") == 0, val);
	if (p->item) {
		int rc = item_key(p, key, val);
		if (rc <= 0)
			return rc;
		p->item = NULL; /* a section setting ends the entry list */
	}
	return field_add(p, key, val);
}

/* Appends a continuation line to the last value: the value is the arena's last string. */
static int continuation(struct parser *p, const char *s, size_t n)
{
	if (!p->last)
		return perr(p, "an indented line continues nothing");
	trim(&s, &n);
	p->w[-1] = ' ';
	memcpy(p->w, s, n);
	p->w[n] = '\0';
	p->w += n + 1;
	return 0;
}

static int parse_line(struct parser *p, const char *s, size_t n)
{
	size_t indent = 0;
	while (indent < n && (s[indent] == ' ' || s[indent] == '\t'))
		indent++;
	if (indent == n || s[indent] == '#') {
		p->last = NULL;
		return 0;
	}
	if (indent >= 4 || s[0] == '\t')
		return continuation(p, s, n);
	if (indent == 0 && s[0] == '[')
		return section_start(p, s, n - (n && s[n - 1] == '\r'));
	const char *k = s + indent;
	size_t kn = n - indent;
	trim(&k, &kn);
	return key_line(p, k, kn);
}

static int parse_text(struct kb_db *db, const char *text, char *errbuf, size_t errbuf_len)
{
	struct parser p = {.db = db, .w = db->buf, .err = errbuf, .err_len = errbuf_len};
	const char *s = text;
	while (*s) {
		const char *eol = strchr(s, '\n');
		size_t n = eol ? (size_t)(eol - s) : strlen(s);
		p.line++;
		if (parse_line(&p, s, n) < 0)
			return -1;
		s += n + (eol != NULL);
	}
	for (int i = 0; i < db->n_s; i++) {
		const char *ports = kb_field(&db->s[i], "ports");
		p.sec = &db->s[i];
		p.line = db->s[i].line;
		if (ports && parse_ports(&p, ports) < 0)
			return -1;
	}
	return 0;
}

const char *kb_field(const struct kb_section *s, const char *key)
{
	for (int i = 0; s && i < s->n_f; i++)
		if (strcmp(s->f[i].key, key) == 0)
			return s->f[i].val;
	return NULL;
}

const struct kb_section *kb_find(const struct kb_db *db, enum kb_kind kind, const char *name)
{
	for (int i = 0; i < db->n_s; i++) {
		const struct kb_section *s = &db->s[i];
		if (s->kind == kind && (kind == KB_DEFAULTS || strcasecmp(s->name, name) == 0))
			return s;
	}
	return NULL;
}

const char *kb_svc_field(const struct kb_db *db, const struct kb_section *svc, const char *key)
{
	const char *v = kb_field(svc, key);
	return v ? v : kb_field(kb_find(db, KB_DEFAULTS, NULL), key);
}

static const struct kb_section *find_port_in(const struct kb_db *db, enum kb_kind kind,
					     unsigned port, bool ranges)
{
	for (int i = 0; i < db->n_s; i++) {
		const struct kb_section *s = &db->s[i];
		for (int r = 0; s->kind == kind && r < s->n_r; r++)
			if ((s->r[r].lo != s->r[r].hi) == ranges && port >= s->r[r].lo &&
			    port <= s->r[r].hi)
				return s;
	}
	return NULL;
}

const struct kb_section *kb_find_port(const struct kb_db *db, unsigned port)
{
	const struct kb_section *s = find_port_in(db, KB_SERVICE, port, false);
	return s ? s : find_port_in(db, KB_SERVICE, port, true);
}

const struct kb_section *kb_find_label_port(const struct kb_db *db, unsigned port)
{
	const struct kb_section *s = find_port_in(db, KB_LABEL, port, false);
	return s ? s : find_port_in(db, KB_LABEL, port, true);
}

int kb_load_text(const char *text, struct kb_db **out, char *errbuf, size_t errbuf_len)
{
	struct kb_db *db = calloc(1, sizeof(*db));
	*out = NULL;
	if (db)
		db->buf = malloc(strlen(text) + 1);
	if (!db || !db->buf) {
		kb_free(db);
		snprintf(errbuf, errbuf_len, "kb.txt: out of memory");
		return -1;
	}
	if (parse_text(db, text, errbuf, errbuf_len) < 0 ||
	    kb_validate(db, errbuf, errbuf_len) < 0) {
		kb_free(db);
		return -1;
	}
	*out = db;
	return 0;
}

void kb_free(struct kb_db *db)
{
	if (db)
		free(db->buf);
	free(db);
}

static struct kb_db *g_kb;
static char g_kb_err[256];
static pthread_once_t g_kb_once = PTHREAD_ONCE_INIT;

static void kb_init_once(void)
{
	kb_load_text(pm_kb_text, &g_kb, g_kb_err, sizeof(g_kb_err));
}

const struct kb_db *kb_get(char *errbuf, size_t errbuf_len)
{
	pthread_once(&g_kb_once, kb_init_once);
	if (!g_kb && errbuf)
		snprintf(errbuf, errbuf_len, "%s", g_kb_err);
	return g_kb;
}

int kb_check(char *errbuf, size_t errbuf_len)
{
	return kb_get(errbuf, errbuf_len) ? 0 : -1;
}

const char *kb_service_for_port(uint16_t port)
{
	const struct kb_db *db = kb_get(NULL, 0);
	const struct kb_section *s = db ? kb_find_port(db, port) : NULL;
	return s ? s->name : NULL;
}

const char *kb_label_title(const char *label)
{
	const struct kb_db *db = kb_get(NULL, 0);
	return db && label ? kb_field(kb_find(db, KB_LABEL, label), "title") : NULL;
}

const char *kb_rates_note(void)
{
	const struct kb_db *db = kb_get(NULL, 0);
	const char *note = db ? kb_field(kb_find(db, KB_DEFAULTS, NULL), "rates-note") : NULL;
	return note ? note : "The knowledge base could not be read: no rates are shown.";
}

const char *kb_label_class(const char *label)
{
	const struct kb_db *db = kb_get(NULL, 0);
	return db && label ? kb_field(kb_find(db, KB_LABEL, label), "class") : NULL;
}
