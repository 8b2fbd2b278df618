/* main.c - gen: writes a large deterministic synthetic capture (classic pcap) with planted
 * ICMP port-unreachable scenarios, and optionally their ground truth as TSV.
 *
 * The truth file (--truth): a header line, then one line per planted finding, most errors
 * first, with these tab-separated columns:
 *   diagnosis secondary   SPEC §6 labels (secondary empty or "rate-limited")
 *   server_ip server_port the endpoint the finding is keyed on; traceroute and udp-scan:
 *                         the target and the lowest port probed (33434, 1)
 *   proto service         "udp"; dns, syslog, ntp, snmp, tftp, traceroute, udp-scan
 *   n_errors              port unreachables about it (ICMP 3/3 or ICMPv6 1/4)
 *   n_requests            datagrams sent to server_ip:server_port (all probes for
 *                         traceroute and udp-scan, unanswered ones included)
 *   n_replies             datagrams from server_ip:server_port
 *   ports                 distinct ports probed (traceroute, udp-scan), else 1
 *   n_clients             hosts that sent the requests
 *   reporters             sources of the errors, comma-separated (",+" when more than 4)
 *   first_error last_error ISO 8601 UTC at the file's precision
 *   note                  free text (rate limit, outage length, spoofed TTL, ...)
 * then "# key value" lines: packets, bytes, findings, icmp_port_unreach_v4,
 * icmp6_port_unreach, icmp_unreach_other (v4 type 3 other codes + v6 type 1 other codes,
 * also split as _v4 / icmp6_), time_exceeded (v4 type 11 + v6 type 3, also split),
 * vlan_tagged, link, precision, seed, first_packet, last_packet. Background traffic never
 * carries an ICMP error, so these counts are the file's. */
#include "gen.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define START_NS (1795428000ull * 1000000000ull) /* 2026-11-23T10:00:00Z */
#define MIN_DURATION_NS (20ull * 1000000000ull)	 /* late replies need > 5 s */
#define DEFAULT_PACKETS 200000
#define CALIBRATION_PACKETS 20000

struct opts {
	uint64_t packets, bytes, seed, rate;
	struct storm storm;
	enum link link;
	bool nsec, quiet;
	double vlan_share;
	const char *truth, *out;
};

struct counts {
	uint64_t packets, icmp4_pu, icmp6_pu, unreach4_other, unreach6_other, te4, te6, vlan;
	uint64_t first_ns, last_ns;
};

struct gen {
	struct opts o;
	struct world *w;
	struct out out;
	struct plan pl;
	struct counts n;
};

static void usage(void)
{
	fputs("usage: gen [--packets N | --bytes SIZE] [--seed S] [--link en10mb|sll2|raw|null]\n"
	      "           [--nsec] [--vlan-share P] [--rate PPS] [--truth FILE] [-q] -o OUT.pcap\n"
	      "Writes a deterministic synthetic capture (classic pcap): enterprise-like TCP, DNS,\n"
	      "syslog, NTP, SNMP traffic with planted ICMP port-unreachable scenarios.\n"
	      "  --packets N      exactly N packets (default 200000; at least 10000)\n"
	      "  --bytes SIZE     about SIZE bytes (suffixes k, M, G, T: powers of 1024)\n"
	      "  --seed S         random seed (default 1); same arguments, same bytes\n"
	      "  --link L         en10mb (default), sll2, raw, null\n"
	      "  --nsec           nanosecond timestamps\n"
	      "  --vlan-share P   share of clients behind 802.1Q tags, 0..1 (en10mb; default 0.1)\n"
	      "  --rate PPS       background packets per second of capture time (default 50000;\n"
	      "                   slower for small captures, which span at least 20 s)\n"
	      "  --truth FILE     write the planted findings and packet counts (TSV)\n"
	      "  --storm S:R[:C:T:P]  an error storm on top of the mix: S DNS servers (IPv6)\n"
	      "                   refusing R requests in all from 2000 clients, and C scanners\n"
	      "                   each probing P ports of T hosts (C, T, P default 0)\n"
	      "  -o OUT           output file, - for standard output\n",
	      stdout);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return -1;
	static const char units[] = "kmgt";
	const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
	uint64_t mul = u ? 1ull << (10 * (u - units + 1)) : 1;
	end += u != NULL;
	if (strcmp(end, "") && strcmp(end, "B") && strcmp(end, "iB"))
		return -1;
	*out = (uint64_t)(v * (double)mul);
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_link(const char *s, enum link *l)
{
	static const struct {
		const char *name;
		enum link link;
	} t[] = {{"en10mb", LINK_EN10MB},
		 {"ether", LINK_EN10MB},
		 {"sll2", LINK_SLL2},
		 {"raw", LINK_RAW},
		 {"null", LINK_NULL}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0) {
			*l = t[i].link;
			return 0;
		}
	return -1;
}

/* Applies one option; returns nonzero when its value is bad. */
static int parse_one(int ch, const char *arg, struct opts *o)
{
	char *end;
	switch (ch) {
	case 'n':
		return parse_u64(arg, &o->packets);
	case 'b':
		return parse_size(arg, &o->bytes);
	case 's':
		return parse_u64(arg, &o->seed);
	case 'l':
		return parse_link(arg, &o->link);
	case 'N':
		o->nsec = true;
		return 0;
	case 'v':
		o->vlan_share = strtod(arg, &end);
		return *end || end == arg || o->vlan_share < 0 || o->vlan_share > 1;
	case 'r':
		return parse_u64(arg, &o->rate) || o->rate == 0;
	case 't':
		o->truth = arg;
		return 0;
	case 'S': {
		struct storm *s = &o->storm;
		int n = sscanf(arg, "%u:%" SCNu64 ":%u:%u:%u", &s->servers, &s->requests,
			       &s->scanners, &s->targets, &s->ports);
		return (n != 2 && n != 5) || !s->servers || s->servers > 30000 ||
		       s->ports > 65535 || (uint64_t)s->scanners * s->targets > 30000;
	}
	case 'o':
		o->out = arg;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	default:
		return -1;
	}
}

static int check_opts(struct opts *o)
{
	if (!o->out || (o->packets && o->bytes)) {
		fprintf(stderr, "gen: %s\n",
			!o->out ? "-o OUT is required" : "give --packets or --bytes, not both");
		return -1;
	}
	if (!o->packets && !o->bytes)
		o->packets = DEFAULT_PACKETS;
	if (o->packets && o->packets < 10000) {
		fprintf(stderr, "gen: --packets must be at least 10000 (the planted scenarios)\n");
		return -1;
	}
	if (o->bytes && o->bytes < (8u << 20)) {
		fprintf(stderr, "gen: --bytes must be at least 8M (the planted scenarios)\n");
		return -1;
	}
	if (o->link != LINK_EN10MB)
		o->vlan_share = 0;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"packets", required_argument, 0, 'n'}, {"bytes", required_argument, 0, 'b'},
	    {"seed", required_argument, 0, 's'},    {"link", required_argument, 0, 'l'},
	    {"nsec", no_argument, 0, 'N'},	    {"vlan-share", required_argument, 0, 'v'},
	    {"rate", required_argument, 0, 'r'},    {"truth", required_argument, 0, 't'},
	    {"storm", required_argument, 0, 'S'},   {"quiet", no_argument, 0, 'q'},
	    {"help", no_argument, 0, 'h'},	    {0, 0, 0, 0}};
	*o = (struct opts){.seed = 1, .rate = 50000, .link = LINK_EN10MB, .vlan_share = 0.1};
	int ch;
	while ((ch = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
		if (ch == 'h') {
			usage();
			exit(0);
		}
		if (ch == '?')
			return -1;
		if (parse_one(ch, optarg, o)) {
			fprintf(stderr, "gen: bad value: %s\n", optarg);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gen: unexpected argument: %s\n", argv[optind]);
		return -1;
	}
	return check_opts(o);
}

/* ---- writing packets ---- */

/* The tagged client of a conversation (servers and routers are never tagged). */
static const struct host *vlan_of(const struct host *a, const struct host *b)
{
	return a->vlan ? a : b->vlan ? b : NULL;
}

static size_t build_frame(struct gen *g, uint8_t *fr, const struct event *e, bool *tagged)
{
	const struct world *w = g->w;
	const struct host *src, *dst;
	if (e->kind == EV_DGRAM)
		src = &w->hosts[e->d.src], dst = &w->hosts[e->d.dst];
	else
		src = &w->hosts[e->reporter], dst = &w->hosts[e->d.src];
	const struct host *vh = g->o.link == LINK_EN10MB ? vlan_of(src, dst) : NULL;
	*tagged = vh != NULL;
	size_t l = wire_link(fr, g->o.link, src->fam, src, dst, vh);
	size_t n = e->kind == EV_DGRAM ? wire_dgram(fr + l, w, &e->d) : wire_icmp(fr + l, w, e);
	size_t fl = l + n;
	if (g->o.link == LINK_EN10MB && fl < 60) { /* a switch pads short frames */
		memset(fr + fl, 0, 60 - fl);
		fl = 60;
	}
	return fl;
}

static void count_event(struct gen *g, const struct event *e, uint64_t t)
{
	if (e->kind == EV_ICMP) {
		bool v6 = g->w->hosts[e->reporter].fam == 6;
		if (!v6 && e->icmp_type == 3)
			e->icmp_code == 3 ? g->n.icmp4_pu++ : g->n.unreach4_other++;
		else if (v6 && e->icmp_type == 1)
			e->icmp_code == 4 ? g->n.icmp6_pu++ : g->n.unreach6_other++;
		else if (!v6 && e->icmp_type == 11)
			g->n.te4++;
		else if (v6 && e->icmp_type == 3)
			g->n.te6++;
	}
	if (e->finding == NO_FINDING)
		return;
	struct finding *f = &g->pl.fd[e->finding];
	if (e->role == ROLE_REQ)
		f->n_req++;
	else if (e->role == ROLE_REPLY)
		f->n_rep++;
	if (e->role != ROLE_ERR)
		return;
	if (f->n_err++ == 0)
		f->first_err = t;
	f->last_err = t;
	for (int i = 0; i < f->n_reporters; i++)
		if (f->reporters[i] == e->reporter)
			return;
	if (f->n_reporters < MAX_REPORTERS)
		f->reporters[f->n_reporters++] = e->reporter;
	else
		f->more_reporters = true;
}

static void emit(struct gen *g, const struct event *e)
{
	bool tagged;
	uint8_t *rec = out_room(&g->out);
	size_t fl = build_frame(g, rec + 16, e, &tagged);
	uint64_t ts = g->w->start_ns + e->t;
	out_commit(&g->out, ts, fl);
	if (g->n.packets++ == 0)
		g->n.first_ns = ts;
	g->n.last_ns = ts;
	g->n.vlan += tagged;
	if (e->kind == EV_ICMP || e->finding != NO_FINDING)
		count_event(g, e, ts);
}

/* Average record size of the background mix, for --bytes. */
static int calibrate(const struct opts *o, uint64_t *avg)
{
	struct gen g = {.o = *o};
	g.w = malloc(sizeof(*g.w));
	uint8_t *fr = malloc(FRAME_MAX);
	struct bg *b = NULL;
	if (g.w) {
		world_init(g.w, o->vlan_share, START_NS);
		b = bg_new(g.w, o->seed);
	}
	if (!b || !fr) {
		bg_free(b);
		free(g.w);
		free(fr);
		return -1;
	}
	uint64_t sum = 0;
	struct event e = {.kind = EV_DGRAM, .finding = NO_FINDING};
	bool tagged;
	for (uint64_t i = 0; i < CALIBRATION_PACKETS; i++) {
		bg_next(b, i * 20000, &e.d);
		sum += 16 + build_frame(&g, fr, &e, &tagged);
	}
	*avg = sum / CALIBRATION_PACKETS;
	bg_free(b);
	free(g.w);
	free(fr);
	return 0;
}

/* Merges background packets (evenly spread, jittered) with the planted events by time. */
static void run(struct gen *g, struct bg *b, uint64_t n_bg, uint64_t dur)
{
	struct rng tr;
	rng_seed(&tr, g->o.seed, 4);
	uint64_t step = (dur << 8) / (n_bg ? n_bg : 1); /* 1/256 ns units */
	uint64_t tq = 0, left = n_bg;
	size_t i = 0;
	struct event bge = {.kind = EV_DGRAM, .finding = NO_FINDING};
	for (;;) {
		bool have_ev = i < g->pl.n_ev;
		bool want_bg = g->o.bytes ? g->out.total < g->o.bytes || have_ev : left > 0;
		if (!have_ev && !want_bg)
			break;
		uint64_t tb = tq >> 8;
		if (have_ev && (!want_bg || g->pl.ev[i].t <= tb)) {
			emit(g, &g->pl.ev[i++]);
			continue;
		}
		bg_next(b, tb, &bge.d);
		bge.t = tb;
		emit(g, &bge);
		tq += step / 2 + ((step * rng_below(&tr, 1024)) >> 10);
		left -= left > 0;
		if (g->out.err)
			break;
	}
}

/* ---- the truth file ---- */

static void iso_time(uint64_t ns, bool nsec, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	gmtime_r(&s, &tm);
	char d[24];
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec)
		snprintf(buf, len, "%s.%09uZ", d, (unsigned)(ns % 1000000000u));
	else
		snprintf(buf, len, "%s.%06uZ", d, (unsigned)(ns % 1000000000u / 1000u));
}

static const struct finding *sort_base;
static int cmp_finding(const void *x, const void *y)
{
	const struct finding *a = &sort_base[*(const size_t *)x],
			     *b = &sort_base[*(const size_t *)y];
	if (a->n_err != b->n_err)
		return a->n_err > b->n_err ? -1 : 1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static void truth_finding(FILE *f, const struct gen *g, const struct finding *x)
{
	char ip[48], a[48], b[48], rep[4 * 48 + 4] = "";
	host_str(&g->w->hosts[x->server], ip, sizeof(ip));
	iso_time(x->first_err, g->o.nsec, a, sizeof(a));
	iso_time(x->last_err, g->o.nsec, b, sizeof(b));
	for (int i = 0; i < x->n_reporters; i++) {
		char r[48];
		host_str(&g->w->hosts[x->reporters[i]], r, sizeof(r));
		if (i)
			strcat(rep, ",");
		strcat(rep, r);
	}
	if (x->more_reporters)
		strcat(rep, ",+");
	fprintf(f,
		"%s\t%s\t%s\t%u\tudp\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		"\t%u\t%u\t%s\t%s\t%s\t%s\n",
		x->diagnosis, x->secondary, ip, x->port, x->service, x->n_err, x->n_req, x->n_rep,
		x->ports, x->n_clients, rep, a, b, x->note);
}

static int write_truth(const struct gen *g)
{
	FILE *f = fopen(g->o.truth, "w");
	if (!f) {
		fprintf(stderr, "gen: cannot create %s: %s\n", g->o.truth, strerror(errno));
		return -1;
	}
	size_t *idx = malloc((g->pl.n_fd + 1) * sizeof(*idx));
	if (!idx) {
		fclose(f);
		return -1;
	}
	for (size_t i = 0; i < g->pl.n_fd; i++)
		idx[i] = i;
	sort_base = g->pl.fd;
	qsort(idx, g->pl.n_fd, sizeof(*idx), cmp_finding);
	fputs("diagnosis\tsecondary\tserver_ip\tserver_port\tproto\tservice\tn_errors\tn_requests"
	      "\tn_replies\tports\tn_clients\treporters\tfirst_error\tlast_error\tnote\n",
	      f);
	for (size_t i = 0; i < g->pl.n_fd; i++)
		truth_finding(f, g, &g->pl.fd[idx[i]]);
	free(idx);
	static const char *const links[] = {[LINK_NULL] = "NULL", [LINK_EN10MB] = "EN10MB"};
	const char *ln = g->o.link == LINK_RAW	  ? "RAW"
			 : g->o.link == LINK_SLL2 ? "LINUX_SLL2"
						  : links[g->o.link];
	char a[48], b[48];
	iso_time(g->n.first_ns, g->o.nsec, a, sizeof(a));
	iso_time(g->n.last_ns, g->o.nsec, b, sizeof(b));
	const struct counts *n = &g->n;
	fprintf(f, "# packets %" PRIu64 "\n# bytes %" PRIu64 "\n# findings %zu\n", n->packets,
		g->out.total, g->pl.n_fd);
	fprintf(f, "# icmp_port_unreach_v4 %" PRIu64 "\n# icmp6_port_unreach %" PRIu64 "\n",
		n->icmp4_pu, n->icmp6_pu);
	fprintf(f,
		"# icmp_unreach_other %" PRIu64 "\n# icmp_unreach_other_v4 %" PRIu64
		"\n# icmp6_unreach_other %" PRIu64 "\n",
		n->unreach4_other + n->unreach6_other, n->unreach4_other, n->unreach6_other);
	fprintf(f,
		"# time_exceeded %" PRIu64 "\n# time_exceeded_v4 %" PRIu64
		"\n# time_exceeded_v6 %" PRIu64 "\n",
		n->te4 + n->te6, n->te4, n->te6);
	fprintf(f,
		"# vlan_tagged %" PRIu64 "\n# link %s\n# precision %s\n# seed %" PRIu64
		"\n# first_packet %s\n# last_packet %s\n",
		n->vlan, ln, g->o.nsec ? "ns" : "us", g->o.seed, a, b);
	if (fclose(f) != 0) {
		fprintf(stderr, "gen: writing %s failed: %s\n", g->o.truth, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- main ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int generate(struct gen *g)
{
	char err[256];
	uint64_t n_est = g->o.packets, avg = 0;
	if (g->o.bytes) {
		if (calibrate(&g->o, &avg) != 0)
			return -1;
		n_est = (g->o.bytes - 24) / avg;
	}
	uint64_t dur =
	    n_est / g->o.rate * 1000000000ull + n_est % g->o.rate * 1000000000ull / g->o.rate;
	if (dur < MIN_DURATION_NS)
		dur = MIN_DURATION_NS;
	world_init(g->w, g->o.vlan_share, START_NS);
	struct bg *b = bg_new(g->w, g->o.seed);
	if (!b || plan_scenarios(&g->pl, g->w, g->o.seed, n_est, dur, &g->o.storm) != 0) {
		bg_free(b);
		return -1;
	}
	if (g->o.packets &&
	    g->pl.n_ev > (g->o.storm.servers ? g->o.packets - 1000 : g->o.packets / 2)) {
		fprintf(stderr, "gen: %" PRIu64 " packets are too few for %zu planted ones\n",
			g->o.packets, g->pl.n_ev);
		bg_free(b);
		return -1;
	}
	uint64_t n_bg = g->o.packets ? g->o.packets - g->pl.n_ev : n_est - g->pl.n_ev;
	if (out_open(&g->out, g->o.out, g->o.link, g->o.nsec, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen: %s\n", err);
		bg_free(b);
		return -1;
	}
	run(g, b, n_bg, dur);
	bg_free(b);
	if (out_close(&g->out, err, sizeof(err)) != 0) {
		fprintf(stderr, "gen: %s\n", err);
		return -1;
	}
	return g->o.truth ? write_truth(g) : 0;
}

int main(int argc, char **argv)
{
	struct gen g;
	memset(&g, 0, sizeof(g));
	if (parse_opts(argc, argv, &g.o) != 0) {
		fputs("gen: usage: see gen --help\n", stderr);
		return 2;
	}
	app_init();
	wire_init();
	g.w = malloc(sizeof(*g.w));
	if (!g.w) {
		fprintf(stderr, "gen: out of memory\n");
		return 1;
	}
	double t0 = now_s();
	int rc = generate(&g);
	double el = now_s() - t0;
	if (rc == 0 && !g.o.quiet)
		fprintf(stderr,
			"gen: %" PRIu64 " packets, %" PRIu64 " bytes, %zu findings, %" PRIu64
			" port unreachables (%" PRIu64 " v6) in %.2f s (%.0f MB/s)\n",
			g.n.packets, g.out.total, g.pl.n_fd, g.n.icmp4_pu + g.n.icmp6_pu,
			g.n.icmp6_pu, el, el > 0 ? (double)g.out.total / el / 1e6 : 0.0);
	plan_free(&g.pl);
	free(g.w);
	return rc == 0 ? 0 : 1;
}
