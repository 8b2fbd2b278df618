/* test_kb.c - the knowledge base: complete, sourced, specialised, and `explain`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "reports/kb_int.h"
#include "reports/report_int.h"

extern const char pm_kb_text[];

/* The labels of SPEC §6: the code's one list (kb_labels), whose length is checked below. */
#define N_SPEC_LABELS 14

Test(kb, labels_are_spec_labels)
{
	size_t n = 0;
	while (kb_labels[n])
		n++;
	cr_assert_eq(n, N_SPEC_LABELS, "kb_labels holds %zu labels, SPEC §6 names %d", n,
		     N_SPEC_LABELS);
	cr_expect_str_eq(kb_labels[0], "service-down");
	cr_expect_str_eq(kb_labels[N_SPEC_LABELS - 1], "rate-limited");
}

Test(kb, compiled_in_kb_is_valid)
{
	char err[256] = "";
	cr_assert_eq(kb_check(err, sizeof(err)), 0, "%s", err);
}

static void advise(const char *label, const char *service, unsigned port, const char *ip,
		   struct kb_advice *a)
{
	struct kb_ctx ctx;
	char err[256] = "", p[12];
	snprintf(p, sizeof(p), "%u", port);
	kb_sample_ctx(&ctx, p);
	if (ip) {
		ctx.ip = ip;
		ctx.af = strchr(ip, ':') ? "6" : "4";
	}
	cr_assert_eq(kb_advise(label, service, port, &ctx, a, err, sizeof(err)), 0, "%s", err);
}

Test(kb, every_label_complete)
{
	for (size_t i = 0; kb_labels[i]; i++) {
		struct kb_advice a;
		int n_do = 0, n_dont = 0;
		advise(kb_labels[i], NULL, 53, NULL, &a);
		cr_expect(a.cause && strlen(a.cause) > 40, "%s: cause", kb_labels[i]);
		cr_expect(a.title && a.summary && a.klass, "%s: title/summary/class", kb_labels[i]);
		for (int k = 0; k < a.n_item; k++) {
			const struct kb_adv_item *it = &a.item[k];
			n_do += !it->is_dont, n_dont += it->is_dont;
			cr_expect(!it->is_dont || (it->why && *it->why), "%s: dead end without why",
				  kb_labels[i]);
			cr_expect(!strchr(it->text, '{'), "%s: unexpanded %s", kb_labels[i],
				  it->text);
			if (it->has_rate) {
				cr_expect(it->rate >= 0 && it->rate <= 1, "%s: rate %f",
					  kb_labels[i], it->rate);
				cr_expect(it->source && strstr(it->source, "AI-generated"),
					  "%s: unsourced", kb_labels[i]);
			}
		}
		cr_expect_geq(n_do, 1, "%s: no workaround", kb_labels[i]);
		cr_expect_geq(n_dont, 1, "%s: no dead end", kb_labels[i]);
		kb_advice_free(&a);
	}
}

/* The seed's figures, exactly, and no figure anywhere else: nobody measured the others. */
Test(kb, rates_only_where_the_seed_gives_them)
{
	static const double seed_do[] = {0.85, 0.80, 0.90}, seed_dont[] = {0.85, 0.70, 0.60};
	for (size_t i = 0; kb_labels[i]; i++) {
		struct kb_advice a;
		int d = 0, x = 0;
		bool seed = strcmp(kb_labels[i], "service-down") == 0;
		advise(kb_labels[i], "dns", 53, NULL, &a);
		cr_expect_eq(a.has_fix, seed, "%s: fix rate", kb_labels[i]);
		for (int k = 0; k < a.n_item; k++) {
			const struct kb_adv_item *it = &a.item[k];
			cr_expect_eq(it->has_rate, seed, "%s: %s", kb_labels[i], it->text);
			double want = !seed	    ? 0
				      : it->is_dont ? (x < 3 ? seed_dont[x] : -1)
						    : (d < 3 ? seed_do[d] : -1);
			if (seed)
				cr_expect_float_eq(it->rate, want, 1e-9, "%s", it->text);
			it->is_dont ? x++ : d++;
		}
		if (seed) {
			cr_expect_float_eq(a.fix_rate, 0.85, 1e-9);
			cr_expect(d == 3 && x == 3);
		}
		kb_advice_free(&a);
	}
}

Test(kb, at_least_25_services_with_commands_for_three_systems)
{
	const struct kb_db *db = kb_get(NULL, 0);
	cr_assert_not_null(db);
	static const char *const keys[] = {"linux-check",   "linux-start",   "windows-check",
					   "windows-start", "freebsd-check", "freebsd-start"};
	int n = 0;
	for (int i = 0; i < db->n_s; i++) {
		const struct kb_section *s = &db->s[i];
		if (s->kind != KB_SERVICE || s->n_r == 0)
			continue;
		n++;
		struct kb_ctx ctx;
		kb_sample_ctx(&ctx, "1");
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			struct sbuf b;
			char bad[64] = "";
			sb_init(&b);
			cr_expect_eq(kb_expand(db, s, &ctx, kb_svc_field(db, s, keys[k]), &b, bad,
					       sizeof(bad)),
				     0, "%s %s: %s", s->name, keys[k], bad);
			cr_expect_gt(b.len, 4, "%s: %s empty", s->name, keys[k]);
			sb_free(&b);
		}
		cr_expect(kb_field(s, "daemons") && kb_field(s, "config") &&
			      kb_field(s, "client-config"),
			  "%s", s->name);
	}
	cr_expect_geq(n, 25);
}

Test(kb, ports_of_the_seed_and_spec_are_known)
{
	static const struct {
		unsigned port;
		const char *svc;
	} want[] = {
	    {53, "dns"},	   {67, "dhcp"},      {68, "dhcp"},	     {69, "tftp"},
	    {123, "ntp"},	   {161, "snmp"},     {162, "snmp-trap"},    {514, "syslog"},
	    {1812, "radius"},	   {1645, "radius"},  {1813, "radius-acct"}, {1646, "radius-acct"},
	    {88, "kerberos"},	   {389, "cldap"},    {137, "netbios-ns"},   {138, "netbios-dgm"},
	    {1900, "ssdp"},	   {5353, "mdns"},    {5355, "llmnr"},	     {500, "ike"},
	    {4500, "ipsec-nat-t"}, {1194, "openvpn"}, {51820, "wireguard"},  {443, "quic"},
	    {5060, "sip"},	   {16500, "rtp"},    {2055, "netflow"},     {4739, "ipfix"},
	    {6343, "sflow"},	   {8125, "statsd"},  {11211, "memcached"},  {12201, "gelf"}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *s = kb_service_for_port((uint16_t)want[i].port);
		cr_expect(s && strcmp(s, want[i].svc) == 0, "port %u: %s", want[i].port,
			  s ? s : "NULL");
	}
	cr_expect_null(kb_service_for_port(9));
}

Test(kb, commands_specialised_to_the_finding)
{
	struct kb_advice a;
	advise("service-down", NULL, 53, "192.0.2.53", &a);
	cr_expect_str_eq(a.service_id, "dns");
	const struct kb_adv_item *first = &a.item[0];
	cr_assert_geq(first->n_cmd, 6);
	cr_expect_str_eq(first->cmd[0], "ss -ulpn 'sport = :53'");
	cr_expect(strncmp(first->cmd[1], "systemctl start named", 21) == 0, "%s", first->cmd[1]);
	cr_expect_str_eq(first->cmd[2], "Get-NetUDPEndpoint -LocalPort 53");
	cr_expect_str_eq(first->cmd[4], "sockstat -4 -l -P udp -p 53");
	cr_expect(strstr(first->text, "On 192.0.2.53") != NULL);
	kb_advice_free(&a);
	advise("service-down", "syslog", 514, "2001:db8::1", &a);
	cr_expect_str_eq(a.item[0].cmd[4], "sockstat -6 -l -P udp -p 514");
	cr_expect(strncmp(a.item[0].cmd[1], "systemctl start rsyslog", 23) == 0);
	kb_advice_free(&a);
}

static char *explain(const char *what, int *rc)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	*rc = kb_explain(what, f);
	fclose(f);
	return buf;
}

static void expect_80_columns(const char *s)
{
	size_t cols = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n') {
			cr_expect_leq(cols, 80, "line too long before: %.40s", p - cols);
			cols = 0;
		} else if (((unsigned char)*p & 0xc0) != 0x80) {
			cols++;
		}
	}
}

/* The text with every run of white space (line breaks of the wrapping) as one space. */
static char *squash(const char *s)
{
	char *out = malloc(strlen(s) + 1), *w = out;
	cr_assert_not_null(out);
	for (; *s; s++)
		if (*s != ' ' && *s != '\n')
			*w++ = *s;
		else if (w == out || w[-1] != ' ')
			*w++ = ' ';
	*w = '\0';
	return out;
}

Test(kb, explain_by_label_port_and_name)
{
	int rc;
	char *s = explain("service-down", &rc);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(s, "success rate 85%") && strstr(s, "fails 70%"), "%s", s);
	char *flat = squash(s);
	cr_expect(strstr(flat, "\"ICMP: Port unreachable\", the unverified AI-generated entry"),
		  "%s", flat);
	cr_expect(strstr(flat, "come from one source") &&
		      strstr(flat, "estimates, not measurements"),
		  "explain says where the rates come from, as the reports do: %s", flat);
	free(flat);
	cr_expect_null(strstr(s, "only where a source measured"));
	expect_80_columns(s);
	free(s);
	s = explain("53", &rc);
	cr_expect_eq(rc, 0);
	cr_expect(
	    strstr(s, "ss -ulpn 'sport = :53'") && strstr(s, "Get-NetUDPEndpoint -LocalPort 53") &&
		strstr(s, "sockstat -4 -l -P udp -p 53") && strstr(s, "systemctl start named"),
	    "%s", s);
	cr_expect(strstr(s, "BIND 9.18-9.20, Unbound 1.17-1.22") != NULL);
	cr_expect(strstr(s, "Linux kernel 5.10-6.8") && strstr(s, "Windows Server 2022 and 2025") &&
		  strstr(s, "FreeBSD 13 and 14"));
	expect_80_columns(s);
	free(s);
	s = explain("syslog", &rc);
	cr_expect(rc == 0 && strstr(s, "syslog-ng 4.0-4.8"));
	free(s);
	s = explain("NTP", &rc);
	cr_expect(rc == 0 && strstr(s, "Start-Service W32Time"));
	free(s);
	s = explain("33434", &rc);
	cr_expect(rc == 0 && strstr(s, "traceroute: traceroute"));
	free(s);
	s = explain("late-reply", &rc);
	cr_expect(rc == 0 && strstr(s, "slow, not the client"), "%s", s);
	cr_expect_null(strstr(s, "%"), "no invented figure");
	free(s);
	s = explain("no-such-thing", &rc);
	cr_expect_eq(rc, -1);
	free(s);
	s = explain("9", &rc);
	cr_expect_eq(rc, -1);
	free(s);
}

/* Loads kb.txt with one edit; returns the error (or "" when it loads). */
static char *load_edited(const char *from, const char *to)
{
	static char err[256];
	const char *at = strstr(pm_kb_text, from);
	cr_assert_not_null(at, "%s", from);
	size_t n = strlen(pm_kb_text) - strlen(from) + strlen(to) + 1;
	char *text = malloc(n);
	snprintf(text, n, "%.*s%s%s", (int)(at - pm_kb_text), pm_kb_text, to, at + strlen(from));
	struct kb_db *db = NULL;
	err[0] = '\0';
	if (kb_load_text(text, &db, err, sizeof(err)) == 0)
		kb_free(db);
	free(text);
	return err;
}

Test(kb, validator_rejects_mistakes)
{
	cr_expect_str_eq(load_edited("[label", "[label"), "");
	cr_expect(strstr(load_edited("  source: seed, workaround 1\n", ""), "needs source"));
	cr_expect(strstr(load_edited("  rate: 85%\n  source: seed, workaround 1",
				     "  rate: 185%\n  source: seed"),
			 "is not N%"));
	cr_expect(strstr(
	    load_edited("  rate: 85%\n  source: seed, workaround 1", "  rate: 85\n  source: seed"),
	    "is not N%"));
	cr_expect(strstr(load_edited("  rate: unmeasured\n", ""), "has no rate"));
	cr_expect(
	    strstr(load_edited("start {daemon}.", "start {deamon}."), "unknown variable {deamon}"));
	cr_expect(
	    strstr(load_edited("[label udp-scan]", "[label udp-scans]"), "no [label udp-scan]"));
	cr_expect(strstr(load_edited("linux-start: systemctl start named", "linux-strat: x"),
			 "unknown setting linux-strat"));
	cr_expect(strstr(load_edited("ports: 1900", "ports: 53"), "port 53 is in"));
	cr_expect(
	    strstr(load_edited("  why: It hides the error", "  wy: It hides"), "unknown setting"));
}

/* ---- template expansion on byte arrays ---- */

/* Expands tmpl (prose, or a command with `whole`) for [service svc] with ctx; *n_dropped
 * gets the sentences left out. Returns a heap string. */
static char *xp(const char *svc, const struct kb_ctx *ctx, const char *tmpl, bool whole,
		int *n_dropped, int *rc)
{
	const struct kb_db *db = kb_get(NULL, 0);
	cr_assert_not_null(db);
	struct sbuf b;
	char bad[64] = "";
	int dropped = 0;
	sb_init(&b);
	*rc = kb_expand_opt(db, kb_find(db, KB_SERVICE, svc), ctx, tmpl, whole, &b, &dropped, bad,
			    sizeof(bad));
	if (n_dropped)
		*n_dropped = dropped;
	char *s = sb_take(&b);
	cr_assert_not_null(s);
	return s;
}

static void expect_xp(const char *svc, const struct kb_ctx *ctx, const char *tmpl, bool whole,
		      const char *want, int want_dropped)
{
	int rc, dropped;
	char *got = xp(svc, ctx, tmpl, whole, &dropped, &rc);
	cr_expect_eq(rc, 0, "%s", tmpl);
	cr_expect_str_eq(got, want, "template \"%s\"", tmpl);
	cr_expect_eq(dropped, want_dropped, "template \"%s\": %d sentences left out", tmpl,
		     dropped);
	free(got);
}

Test(kb_expand, fills_what_the_finding_has_and_drops_the_sentences_that_need_more)
{
	struct kb_ctx c = {.ip = "192.0.2.1", .port = "53", .ports = "1", .af = "4"};
	static const char middle[] = {'O', 'n', ' ', '{', 'i', 'p', '}', ',', ' ', 'l', 'o',
				      'o', 'k', '.', ' ', 'C', 'l', 'i', 'e', 'n', 't', 's',
				      ':', ' ', '{', 'c', 'l', 'i', 'e', 'n', 't', 's', '}',
				      '.', ' ', 'D', 'o', 'n', 'e', '.', '\0'};
	expect_xp("dns", &c, middle, false, "On 192.0.2.1, look. Done.", 1);
	expect_xp("dns", &c, "{client} asked first. The rest stays.", false, "The rest stays.", 1);
	expect_xp("dns", &c, "It stays. Only {related-ip} knows.", false, "It stays.", 1);
	expect_xp("dns", &c, "Nothing here is {until}", false, "", 1);
	/* a number, an ellipsis and a closing parenthesis are not sentence ends */
	expect_xp("dns", &c, "BIND 9.18 (kdc = ...) and {client}. Next (one.) {ip}.", false,
		  "Next (one.) 192.0.2.1.", 1);
	c.clients = "198.51.100.1, 198.51.100.2 and 69 more";
	expect_xp("dns", &c, middle, false,
		  "On 192.0.2.1, look. Clients: 198.51.100.1, 198.51.100.2 and 69 more. Done.", 0);
	/* a command is one unit: it goes whole */
	expect_xp("dns", &c, "dig @{ip} . NS. Then {client}", true, "", 1);
	expect_xp("dns", &c, "ss -ulpn 'sport = :{port}'", true, "ss -ulpn 'sport = :53'", 0);
	/* a value that is not a variable stays literal; IPv6 before :{port} is bracketed */
	expect_xp("dns", &c, "@{LogName='System'} {port}", true, "@{LogName='System'} 53", 0);
	c.ip = "2001:db8::53";
	expect_xp("dns", &c, "{ip}:{port} and {ip}.", false, "[2001:db8::53]:53 and 2001:db8::53.",
		  0);
}

Test(kb_expand, plural_forms_follow_the_number)
{
	struct kb_ctx c = {.ip = "192.0.2.1", .port = "53", .ports = "1"};
	expect_xp("dns", &c, "{ports} {ports:port|ports} of {ip}.", false, "1 port of 192.0.2.1.",
		  0);
	c.ports = "100";
	expect_xp("dns", &c, "{ports} {ports:port|ports} of {ip}.", false,
		  "100 ports of 192.0.2.1.", 0);
	c.ports = NULL; /* no number: no word for it either */
	expect_xp("dns", &c, "A scan. Of {ports:port|ports}.", false, "A scan.", 1);
	/* half a form is not a variable: written as it is */
	expect_xp("dns", &c, "{ports:port} {ports:|x}", false, "{ports:port} {ports:|x}", 0);
}

Test(kb_expand, service_values_and_what_an_unknown_service_lacks)
{
	struct kb_ctx c = {.ip = "192.0.2.1", .port = "5000", .af = "4"};
	const struct kb_db *db = kb_get(NULL, 0);
	cr_assert_not_null(db);
	/* nested: {linux-start} -> systemctl start {unit} */
	expect_xp("syslog", &c, kb_svc_field(db, kb_find(db, KB_SERVICE, "syslog"), "linux-start"),
		  true, "systemctl start rsyslog   # or: syslog-ng", 0);
	/* [service other] has no unit, Windows service, rc name or process: nothing to start */
	static const char *const gone[] = {"linux-start",    "linux-status",   "linux-log",
					   "windows-start",  "windows-status", "freebsd-start",
					   "freebsd-status", "freebsd-log"};
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		char tmpl[40];
		snprintf(tmpl, sizeof(tmpl), "{%s}", gone[i]);
		expect_xp("other", &c, tmpl, true, "", 1);
	}
	expect_xp("other", &c, "{linux-check}", true, "ss -ulpn 'sport = :5000'", 0);
	expect_xp("other", &c, "{freebsd-check}", true, "sockstat -4 -l -P udp -p 5000", 0);
	/* an unknown name is an error (and still never printed) */
	int rc;
	char *got = xp("dns", &c, "Fine. Broken {nosuch}.", false, NULL, &rc);
	cr_expect_eq(rc, -1);
	cr_expect_str_eq(got, "Fine.");
	free(got);
}

Test(kb_expand, client_network_covers_the_clients_or_is_left_out)
{
	char buf[64];
	const char *one[] = {"10.0.0.10"};
	cr_expect_eq(kb_client_net(one, 1, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "10.0.0.10");
	const char *two[] = {"198.51.100.132", "198.51.100.133"};
	cr_expect_eq(kb_client_net(two, 2, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "198.51.100.132/31");
	const char *site[] = {"10.0.5.16", "10.0.210.7", "10.0.0.1"};
	cr_expect_eq(kb_client_net(site, 3, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "10.0.0.0/16");
	const char *wide[] = {"10.0.0.1", "10.1.0.1"};
	cr_expect_eq(kb_client_net(wide, 2, buf, sizeof(buf)), -1, "a /15 admits too many hosts");
	const char *mixed[] = {"10.0.0.1", "2001:db8::1"};
	cr_expect_eq(kb_client_net(mixed, 2, buf, sizeof(buf)), -1);
	const char *junk[] = {"10.0.0.1", "not-an-address"};
	cr_expect_eq(kb_client_net(junk, 2, buf, sizeof(buf)), -1);
	const char *v6[] = {"2001:db8:400::1", "2001:db8:400::5"};
	cr_expect_eq(kb_client_net(v6, 2, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "2001:db8:400::/125");
	const char *many[100];
	for (int i = 0; i < 100; i++)
		many[i] = "10.0.0.1";
	cr_expect_eq(kb_client_net(many, 100, buf, sizeof(buf)), -1, "the stored list may be cut");
}

/* ---- advice for whole findings (rep_advise) ---- */

static bool any_has(const struct kb_advice *a, const char *needle)
{
	for (int i = 0; i < a->n_item; i++) {
		const struct kb_adv_item *it = &a->item[i];
		if (strstr(it->text, needle) || (it->why && strstr(it->why, needle)))
			return true;
		for (int c = 0; c < it->n_cmd; c++)
			if (strstr(it->cmd[c], needle))
				return true;
	}
	return (a->cause && strstr(a->cause, needle)) || (a->summary && strstr(a->summary, needle));
}

/* No capital placeholder word, no angle-bracket word: nothing of a template is left. */
static void expect_no_template(const struct kb_advice *a)
{
	static const char *const words[] = {"SERVER",	"CLIENT", "OTHER-",   "UNIT",
					    "SERVICE ", "DAEMON", "REPORTER", "START",
					    " END",	"<",	  "{",	      NULL};
	for (const char *const *w = words; *w; w++)
		cr_expect(!any_has(a, *w), "\"%s\" left in the advice", *w);
}

Test(kb, advice_fits_a_collector_with_71_clients)
{
	static char addr[71][20];
	char *cl[71], rep[] = "10.0.5.16";
	for (int i = 0; i < 71; i++) {
		snprintf(addr[i], sizeof(addr[i]), "10.0.%d.%d", i * 3, i + 10);
		cl[i] = addr[i];
	}
	char *reps[] = {rep};
	struct rep_finding f = {.diagnosis = "service-down",
				.server_ip = "10.0.5.16",
				.service = "syslog",
				.server_port = 514,
				.ports = 1,
				.clients = {cl, 71},
				.reporters = {reps, 1},
				.first_error_ns = REP_NO_TIME,
				.last_error_ns = REP_NO_TIME,
				.outage_start_ns = REP_NO_TIME,
				.outage_end_ns = REP_NO_TIME};
	struct kb_advice a;
	char err[REPORT_ERRBUF_SIZE];
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(any_has(&a, "sysrc syslogd_flags=\"-a 10.0.0.0/16\""),
		  "one rule for the network");
	kb_advice_free(&a);
	f.diagnosis = "wrong-host", f.related = "10.0.5.17 (1 datagrams)";
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(strstr(a.cause, "The clients: 10.0.0.10, 10.0.3.11, 10.0.6.12 and 68 more."),
		  "%s", a.cause);
	cr_expect(strstr(a.cause, "The server that answers them is 10.0.5.17."), "%s", a.cause);
	kb_advice_free(&a);
	f.clients.n = 4;
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(strstr(a.cause, "The clients: 10.0.0.10, 10.0.3.11, 10.0.6.12, 10.0.9.13."),
		  "four are named, not \"and 1 more\": %s", a.cause);
	kb_advice_free(&a);
	f.clients.n = 1;
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(strstr(a.cause, "The client: 10.0.0.10."), "%s", a.cause);
	kb_advice_free(&a);
	f.clients.n = 71, f.diagnosis = "service-down", f.related = NULL;
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(!any_has(&a, "-a 10.0.0.10\""), "not the first client alone");
	cr_expect(!any_has(&a, "514 in *.*"), "the client configuration reads as a sentence");
	cr_expect(any_has(&a, "a line such as *.* @10.0.5.16:514"));
	expect_no_template(&a);
	kb_advice_free(&a);
	f.clients.n = 0; /* without clients the FreeBSD command goes, the rest stays */
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(!any_has(&a, "syslogd_flags"));
	cr_expect(any_has(&a, "sockstat -4 -l -P udp -p 514"));
	expect_no_template(&a);
	kb_advice_free(&a);
}

Test(kb, advice_leaves_out_what_the_finding_does_not_know)
{
	char *none[] = {NULL};
	struct rep_finding f = {.diagnosis = "wrong-host",
				.server_ip = "192.0.2.6",
				.service = "dns",
				.server_port = 53,
				.ports = 1,
				.clients = {none, 0},
				.reporters = {none, 0},
				.first_error_ns = REP_NO_TIME,
				.last_error_ns = REP_NO_TIME,
				.outage_start_ns = REP_NO_TIME,
				.outage_end_ns = REP_NO_TIME,
				.related = "garbage"};
	struct kb_advice a;
	char err[REPORT_ERRBUF_SIZE];
	for (size_t i = 0; kb_labels[i]; i++) {
		f.diagnosis = (char *)kb_labels[i];
		cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
		cr_expect(a.cause && strlen(a.cause) > 40, "%s: the cause stays", kb_labels[i]);
		cr_expect_gt(a.n_item, 0, "%s", kb_labels[i]);
		expect_no_template(&a);
		kb_advice_free(&a);
	}
	/* a service the payload did not name, on a high port: nothing to start, but a check */
	f.diagnosis = "service-down", f.service = NULL, f.server_port = 5000;
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(!any_has(&a, "systemctl start") && !any_has(&a, "Start-Service") &&
		  !any_has(&a, "service  start"));
	cr_expect(any_has(&a, "ss -ulpn 'sport = :5000'"));
	kb_advice_free(&a);
}

Test(kb, firewall_reject_from_the_server_address_is_not_from_another_host)
{
	char *cl[] = {"192.0.2.177"}, *same[] = {"192.0.2.175"}, *router[] = {"192.0.2.225"};
	struct rep_finding f = {.diagnosis = "firewall-reject",
				.server_ip = "192.0.2.175",
				.service = "dns",
				.server_port = 53,
				.ports = 1,
				.clients = {cl, 1},
				.reporters = {same, 1},
				.first_error_ns = REP_NO_TIME,
				.last_error_ns = REP_NO_TIME,
				.outage_start_ns = REP_NO_TIME,
				.outage_end_ns = REP_NO_TIME};
	struct kb_advice a;
	char err[REPORT_ERRBUF_SIZE];
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(strstr(a.cause, "carry 192.0.2.175's own address"), "%s", a.cause);
	cr_expect(any_has(&a, "Find the firewall rule") &&
		  any_has(&a, "Look on 192.0.2.175 itself"));
	cr_expect_null(strstr(a.cause, "not from 192.0.2.175 itself"), "%s", a.cause);
	kb_advice_free(&a);
	f.reporters.v = router;
	cr_assert_eq(rep_advise(&f, &a, err), 0, "%s", err);
	cr_expect(strstr(a.cause, "came from 192.0.2.225, a router or firewall"), "%s", a.cause);
	cr_expect_null(strstr(a.cause, "own address"), "%s", a.cause);
	kb_advice_free(&a);
}

Test(kb, rates_note_names_the_source_in_plain_words)
{
	const char *n = kb_rates_note();
	cr_expect(strstr(n, "\"ICMP: Port unreachable\"") &&
		      strstr(n, "networking/udp-port-unreachable"),
		  "%s", n);
	cr_expect(strstr(n, "AI-generated") && strstr(n, "estimates"), "%s", n);
	cr_expect(strstr(n, "unmeasured"), "%s", n);
}
