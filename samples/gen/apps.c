/* apps.c - UDP payloads of the generator: DNS (RFC 1035, EDNS0 RFC 6891), syslog
 * (RFC 3164), NTPv4 (RFC 5905), SNMPv2c (RFC 3416, BER), TFTP (RFC 1350), traceroute probes. */
#include "gen.h"

#include <string.h>

/* ---- DNS names: a few hundred, RFC 2606 / RFC 6761 reserved names only ---- */

#define N_PREFIX 30
#define N_DOMAIN 11
#define N_NAMES (N_PREFIX * N_DOMAIN)

static const char *const prefixes[N_PREFIX] = {
    "www",    "mail", "api",	"cdn", "login", "vpn",	"git",	"wiki",	 "intranet", "files",
    "smtp",   "imap", "ns1",	"ns2", "time",	"ldap", "db",	"cache", "auth",     "sso",
    "portal", "shop", "static", "img", "video", "chat", "meet", "crm",	 "erp",	     "hr"};
static const char *const domains[N_DOMAIN] = {
    "example.com",	  "example.net",    "example.org", "corp.example",
    "eng.example",	  "sales.example",  "lab.test",	   "svc.test",
    "backup.example.com", "eu.example.net", "old.invalid"}; /* the last one answers NXDOMAIN */

struct dname {
	uint8_t wire[72];
	uint8_t len;
	bool nx;
	char text[64];
};

static struct dname names[N_NAMES];

static void dname_build(struct dname *n, const char *pre, const char *dom)
{
	snprintf(n->text, sizeof(n->text), "%s.%s", pre, dom);
	size_t o = 0;
	const char *s = n->text;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		n->wire[o++] = (uint8_t)l;
		memcpy(n->wire + o, s, l);
		o += l;
		s += l + (dot ? 1 : 0);
	}
	n->wire[o++] = 0;
	n->len = (uint8_t)o;
	n->nx = strstr(dom, ".invalid") != NULL;
}

void app_init(void)
{
	for (int d = 0; d < N_DOMAIN; d++)
		for (int p = 0; p < N_PREFIX; p++)
			dname_build(&names[d * N_PREFIX + p], prefixes[p], domains[d]);
}

const char *app_dns_name(unsigned idx)
{
	return names[idx % N_NAMES].text;
}

unsigned app_dns_n_names(void)
{
	return N_NAMES;
}

static const uint16_t qtypes[4] = {1, 28, 15, 16};			   /* A, AAAA, MX, TXT */
static const uint8_t edns_opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0}; /* 4096 bytes */

static size_t dns_question(uint8_t *p, const struct dname *n, uint16_t qtype)
{
	memcpy(p, n->wire, n->len);
	be16(p + n->len, qtype);
	be16(p + n->len + 2, 1);
	return n->len + 4u;
}

static size_t dns_rr_head(uint8_t *p, uint16_t type, uint16_t rdlen)
{
	be16(p, 0xc00c); /* the name of the question */
	be16(p + 2, type);
	be16(p + 4, 1);
	be32(p + 6, 300);
	be16(p + 10, rdlen);
	return 12;
}

static size_t dns_answers(uint8_t *p, unsigned ni, int qsel, uint16_t *n_an)
{
	static const char spf[] = "v=spf1 ip4:203.0.113.0/24 -all";
	size_t o = 0;
	if (qsel == QSEL_A || qsel == QSEL_AAAA) {
		*n_an = (uint16_t)(1 + ni % 2);
		for (unsigned i = 0; i < *n_an; i++) {
			if (qsel == QSEL_A) {
				o += dns_rr_head(p + o, 1, 4);
				const uint8_t a[4] = {203, 0, 113,
						      (uint8_t)(1 + (ni * 3 + i) % 62)};
				memcpy(p + o, a, 4);
				o += 4;
			} else {
				o += dns_rr_head(p + o, 28, 16);
				const uint8_t a[16] = {0x20,	   1, 0x0d, 0xb8, 2,
						       0,	   0, 0,    0,	  0,
						       0,	   0, 0,    0,	  (uint8_t)(i + 1),
						       (uint8_t)ni};
				memcpy(p + o, a, 16);
				o += 16;
			}
		}
	} else if (qsel == QSEL_MX) {
		*n_an = 1;
		o += dns_rr_head(p + o, 15, 9);
		const uint8_t mx[9] = {0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 0x0c};
		memcpy(p + o, mx, 9);
		o += 9;
	} else {
		*n_an = 1;
		o += dns_rr_head(p + o, 16, (uint16_t)(sizeof(spf)));
		p[o++] = (uint8_t)(sizeof(spf) - 1);
		memcpy(p + o, spf, sizeof(spf) - 1);
		o += sizeof(spf) - 1;
	}
	return o;
}

static size_t dns_build(uint8_t *p, const struct dgram *d, bool response)
{
	unsigned ni = (d->arg & 0xfff) % N_NAMES;
	int qsel = (d->arg >> 12) & 3;
	const struct dname *n = &names[ni];
	bool edns = d->id & 1;
	uint16_t n_an = 0;
	be16(p, d->id);
	be16(p + 2, response ? (n->nx ? 0x8183 : 0x8180) : 0x0100);
	be16(p + 4, 1);
	be16(p + 8, 0);
	be16(p + 10, edns);
	size_t o = 12 + dns_question(p + 12, n, qtypes[qsel]);
	if (response && !n->nx)
		o += dns_answers(p + o, ni, qsel, &n_an);
	be16(p + 6, n_an);
	if (edns) {
		memcpy(p + o, edns_opt, sizeof(edns_opt));
		o += sizeof(edns_opt);
	}
	return o;
}

/* ---- syslog (RFC 3164 BSD format) ---- */

static void civil(uint64_t unix_sec, int *mon, int *day, int *h, int *m, int *s)
{
	int64_t days = (int64_t)(unix_sec / 86400);
	uint32_t sod = (uint32_t)(unix_sec % 86400);
	*h = (int)(sod / 3600), *m = (int)(sod / 60 % 60), *s = (int)(sod % 60);
	/* days from 1970-01-01 to a civil date (H. Hinnant's algorithm) */
	int64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mon = (int)(mp < 10 ? mp + 3 : mp - 9);
}

/* Copies tmpl to out with its first '#' replaced by a and the second by b. */
static void fill_template(char *out, size_t cap, const char *tmpl, unsigned a, unsigned b)
{
	size_t o = 0;
	int k = 0;
	for (; *tmpl && o + 12 < cap; tmpl++) {
		if (*tmpl != '#') {
			out[o++] = *tmpl;
			continue;
		}
		int n = snprintf(out + o, cap - o, "%u", k++ ? b : a);
		o += n > 0 ? (size_t)n : 0;
	}
	out[o] = 0;
}

static size_t syslog_build(uint8_t *p, const struct world *w, const struct dgram *d)
{
	static const char *const mons[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const struct {
		int pri;
		const char *app, *msg;
	} v[8] = {
	    {86, "sshd", "Accepted publickey for deploy from 198.51.100.# port # ssh2"},
	    {78, "CRON", "(root) CMD (/usr/local/bin/backup --incremental) job # rc #"},
	    {4, "kernel", "[UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.# DST=198.51.100.# PROTO=UDP"},
	    {30, "systemd", "Started Session # of user deploy (slice #)."},
	    {22, "postfix/smtpd", "connect from mail.example.net[203.0.113.#] queue #"},
	    {134, "nginx", "GET /api/v1/items/# HTTP/1.1 200 # \"-\" \"curl/7.88.1\""},
	    {85, "sudo", "deploy : TTY=pts/# ; PWD=/srv ; USER=root ; COMMAND=/bin/systemctl #"},
	    {11, "app", "ERROR worker #: upstream timed out after # ms"}};
	static const char filler[] = " k8s.ns=prod pod=api-7f9c trace=4bf92f3577b34da6a3ce929d"
				     "0e0e4736 span=00f067aa0ba902b7 region=eu-1 retry=0;";
	int mon, day, hh, mm, ss;
	civil(w->start_ns / 1000000000u + d->t_orig / 1000000000u, &mon, &day, &hh, &mm, &ss);
	const struct host *h = &w->hosts[d->src];
	unsigned k = d->arg % 8;
	char msg[160];
	fill_template(msg, sizeof(msg), v[k].msg, d->id % 250 + 1u, d->id * 7u % 60000u);
	unsigned a = h->fam == 4 ? h->addr[2] : h->addr[14],
		 b = h->fam == 4 ? h->addr[3] : h->addr[15];
	int n = snprintf((char *)p, 1400, "<%d>%s %2d %02d:%02d:%02d ws-%u-%u %s[%u]: %s", v[k].pri,
			 mons[mon - 1], day, hh, mm, ss, a, b, v[k].app, (unsigned)d->id, msg);
	size_t o = n < 0 ? 0 : (size_t)n;
	if (o > 1400)
		o = 1400;
	size_t want = d->plen > 1400 ? 1400 : d->plen;
	for (size_t i = 0; o < want; i++)
		p[o++] = (uint8_t)filler[i % (sizeof(filler) - 1)];
	return o;
}

/* ---- NTP ---- */

static void ntp_ts(uint8_t *p, const struct world *w, uint64_t t)
{
	uint64_t abs = w->start_ns + t;
	be32(p, (uint32_t)(abs / 1000000000u + 2208988800u));
	be32(p + 4, (uint32_t)(((abs % 1000000000u) << 32) / 1000000000u));
}

static size_t ntp_build(uint8_t *p, const struct world *w, const struct dgram *d)
{
	memset(p, 0, 48);
	p[2] = 6;    /* poll 64 s */
	p[3] = 0xe9; /* precision 2^-23 s */
	if (d->app == APP_NTP_C) {
		p[0] = 0x23; /* LI 0, version 4, mode 3 client */
		ntp_ts(p + 40, w, d->t_orig);
		return 48;
	}
	uint64_t t_req = d->t_orig - (uint64_t)d->seq * 1000u;
	p[0] = 0x24; /* mode 4 server */
	p[1] = 2;
	be32(p + 4, 0x00000a3d);
	be32(p + 8, 0x00000b85);
	const uint8_t refid[4] = {203, 0, 113, 1};
	memcpy(p + 12, refid, 4);
	ntp_ts(p + 16, w, d->t_orig > 64000000000u ? d->t_orig - 64000000000u : 0);
	ntp_ts(p + 24, w, t_req);
	ntp_ts(p + 32, w, d->t_orig - (uint64_t)d->seq * 500u);
	ntp_ts(p + 40, w, d->t_orig);
	return 48;
}

/* ---- SNMPv2c (BER, every length below 128: short form) ---- */

static size_t ber_open(uint8_t *p, size_t o, uint8_t tag)
{
	p[o] = tag;
	p[o + 1] = 0;
	return o + 2;
}

static void ber_close(uint8_t *p, size_t start, size_t end)
{
	p[start - 1] = (uint8_t)(end - start);
}

static size_t ber_uint(uint8_t *p, size_t o, uint8_t tag, uint32_t v)
{
	uint8_t b[5];
	int n = 0;
	do {
		b[n++] = (uint8_t)v;
		v >>= 8;
	} while (v);
	if (b[n - 1] & 0x80)
		b[n++] = 0;
	p[o++] = tag;
	p[o++] = (uint8_t)n;
	while (n)
		p[o++] = b[--n];
	return o;
}

static size_t ber_bytes(uint8_t *p, size_t o, uint8_t tag, const void *s, size_t n)
{
	p[o++] = tag;
	p[o++] = (uint8_t)n;
	memcpy(p + o, s, n);
	return o + n;
}

static size_t snmp_build(uint8_t *p, const struct world *w, const struct dgram *d)
{
	static const char descr[] = "Linux sw-core-01 5.10.0-28-amd64 #1 SMP x86_64";
	static const char sname[] = "sw-core-01";
	unsigned sel = d->arg % 5, ifx = 1 + (d->arg >> 4) % 48;
	uint8_t oid[12] = {0x2b, 6, 1, 2, 1, 1, 1, 0}; /* 1.3.6.1.2.1.1.x.0 */
	size_t oid_len = 8;
	if (sel == 1)
		oid[6] = 3; /* sysUpTime */
	else if (sel == 2)
		oid[6] = 5;  /* sysName */
	else if (sel >= 3) { /* ifInOctets / ifOutOctets .ifx */
		const uint8_t ifo[10] = {0x2b,	      6, 1, 2, 1, 2, 2, 1, sel == 3 ? 10 : 16,
					 (uint8_t)ifx};
		memcpy(oid, ifo, 10);
		oid_len = 10;
	}
	bool resp = d->app == APP_SNMP_RESP;
	size_t msg = ber_open(p, 0, 0x30);
	size_t o = ber_uint(p, msg, 0x02, 1); /* version: v2c */
	o = ber_bytes(p, o, 0x04, "public", 6);
	size_t pdu = ber_open(p, o, resp ? 0xa2 : 0xa0);
	o = ber_uint(p, pdu, 0x02, 0x10000u + d->id);
	o = ber_uint(p, o, 0x02, 0);
	o = ber_uint(p, o, 0x02, 0);
	size_t list = ber_open(p, o, 0x30);
	size_t vb = ber_open(p, list, 0x30);
	o = ber_bytes(p, vb, 0x06, oid, oid_len);
	uint32_t secs = (uint32_t)((w->start_ns + d->t_orig) / 1000000000u % 86400000u);
	if (!resp)
		o = ber_bytes(p, o, 0x05, "", 0);
	else if (sel == 0)
		o = ber_bytes(p, o, 0x04, descr, sizeof(descr) - 1);
	else if (sel == 1)
		o = ber_uint(p, o, 0x43, secs * 100u + 4711u);
	else if (sel == 2)
		o = ber_bytes(p, o, 0x04, sname, sizeof(sname) - 1);
	else
		o = ber_uint(p, o, 0x41, secs * 12345u + ifx * 977u);
	ber_close(p, vb, o);
	ber_close(p, list, o);
	ber_close(p, pdu, o);
	ber_close(p, msg, o);
	return o;
}

/* ---- TFTP, traceroute ---- */

static size_t tftp_build(uint8_t *p, const struct dgram *d)
{
	static const char *const files[4] = {"pxelinux.0", "pxelinux.cfg/default",
					     "sw-core-01-confg", "firmware/ap-7.2.bin"};
	const char *f = files[d->arg % 4];
	size_t fl = strlen(f);
	be16(p, 1); /* RRQ */
	memcpy(p + 2, f, fl + 1);
	memcpy(p + 3 + fl, "octet", 6);
	return 2 + fl + 1 + 6;
}

size_t app_build(uint8_t *p, const struct world *w, const struct dgram *d)
{
	switch (d->app) {
	case APP_DNS_Q:
		return dns_build(p, d, false);
	case APP_DNS_R:
		return dns_build(p, d, true);
	case APP_SYSLOG:
		return syslog_build(p, w, d);
	case APP_NTP_C:
	case APP_NTP_S:
		return ntp_build(p, w, d);
	case APP_SNMP_GET:
	case APP_SNMP_RESP:
		return snmp_build(p, w, d);
	case APP_TFTP_RRQ:
		return tftp_build(p, d);
	case APP_TRACE:
		for (size_t i = 0; i < d->plen; i++)
			p[i] = (uint8_t)(0x40 + i % 32); /* what Linux traceroute sends */
		return d->plen;
	case APP_NONE:
	default:
		return 0;
	}
}
