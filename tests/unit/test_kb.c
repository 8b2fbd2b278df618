/* test_kb.c - the knowledge base: complete, sourced, specialised, and `explain`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "reports/kb_int.h"

extern const char pm_kb_text[];

/* Every label of SPEC §6, written out here on purpose: the knowledge base must cover them. */
static const char *const labels[] = {"service-down",   "service-restarted", "intermittent",
				     "wrong-port",     "wrong-host",	    "late-reply",
				     "duplicate-reply", "stream-ended",	    "traceroute",
				     "udp-scan",       "unsolicited",	    "reflection",
				     "firewall-reject", "rate-limited"};

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
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		struct kb_advice a;
		int n_do = 0, n_dont = 0;
		advise(labels[i], NULL, 53, NULL, &a);
		cr_expect(a.cause && strlen(a.cause) > 40, "%s: cause", labels[i]);
		cr_expect(a.title && a.summary && a.klass, "%s: title/summary/class", labels[i]);
		for (int k = 0; k < a.n_item; k++) {
			const struct kb_adv_item *it = &a.item[k];
			n_do += !it->is_dont, n_dont += it->is_dont;
			cr_expect(!it->is_dont || (it->why && *it->why), "%s: dead end without why", labels[i]);
			cr_expect(!strchr(it->text, '{'), "%s: unexpanded %s", labels[i], it->text);
			if (it->has_rate) {
				cr_expect(it->rate >= 0 && it->rate <= 1, "%s: rate %f", labels[i], it->rate);
				cr_expect(it->source && strstr(it->source, "seed"), "%s: unsourced", labels[i]);
			}
		}
		cr_expect_geq(n_do, 1, "%s: no workaround", labels[i]);
		cr_expect_geq(n_dont, 1, "%s: no dead end", labels[i]);
		kb_advice_free(&a);
	}
}

/* The seed's figures, exactly, and no figure anywhere else: nobody measured the others. */
Test(kb, rates_only_where_the_seed_gives_them)
{
	static const double seed_do[] = {0.85, 0.80, 0.90}, seed_dont[] = {0.85, 0.70, 0.60};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		struct kb_advice a;
		int d = 0, x = 0;
		bool seed = strcmp(labels[i], "service-down") == 0;
		advise(labels[i], "dns", 53, NULL, &a);
		cr_expect_eq(a.has_fix, seed, "%s: fix rate", labels[i]);
		for (int k = 0; k < a.n_item; k++) {
			const struct kb_adv_item *it = &a.item[k];
			cr_expect_eq(it->has_rate, seed, "%s: %s", labels[i], it->text);
			double want = !seed ? 0 : it->is_dont ? (x < 3 ? seed_dont[x] : -1)
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
	static const char *const keys[] = {"linux-check", "linux-start", "windows-check",
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
					       sizeof(bad)), 0, "%s %s: %s", s->name, keys[k], bad);
			cr_expect_gt(b.len, 4, "%s: %s empty", s->name, keys[k]);
			sb_free(&b);
		}
		cr_expect(kb_field(s, "daemons") && kb_field(s, "config") && kb_field(s, "client-config"),
			  "%s", s->name);
	}
	cr_expect_geq(n, 25);
}

Test(kb, ports_of_the_seed_and_spec_are_known)
{
	static const struct {
		unsigned port;
		const char *svc;
	} want[] = {{53, "dns"},	 {67, "dhcp"},	     {68, "dhcp"},	  {69, "tftp"},
		    {123, "ntp"},	 {161, "snmp"},	     {162, "snmp-trap"},  {514, "syslog"},
		    {1812, "radius"},	 {1645, "radius"},   {1813, "radius-acct"}, {1646, "radius-acct"},
		    {88, "kerberos"},	 {389, "cldap"},     {137, "netbios-ns"}, {138, "netbios-dgm"},
		    {1900, "ssdp"},	 {5353, "mdns"},     {5355, "llmnr"},	  {500, "ike"},
		    {4500, "ipsec-nat-t"}, {1194, "openvpn"}, {51820, "wireguard"}, {443, "quic"},
		    {5060, "sip"},	 {16500, "rtp"},     {2055, "netflow"},	  {4739, "ipfix"},
		    {6343, "sflow"},	 {8125, "statsd"},   {11211, "memcached"}, {12201, "gelf"}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *s = kb_service_for_port((uint16_t)want[i].port);
		cr_expect(s && strcmp(s, want[i].svc) == 0, "port %u: %s", want[i].port, s ? s : "NULL");
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

Test(kb, explain_by_label_port_and_name)
{
	int rc;
	char *s = explain("service-down", &rc);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(s, "success rate 85%") && strstr(s, "fails 70%"), "%s", s);
	cr_expect(strstr(s, "seed networking/udp-port-unreachable") != NULL);
	expect_80_columns(s);
	free(s);
	s = explain("53", &rc);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(s, "ss -ulpn 'sport = :53'") && strstr(s, "Get-NetUDPEndpoint -LocalPort 53") &&
		  strstr(s, "sockstat -4 -l -P udp -p 53") && strstr(s, "systemctl start named"), "%s", s);
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
	cr_expect(strstr(load_edited("  rate: 85%\n  source: seed, workaround 1", "  rate: 185%\n  source: seed"), "is not N%"));
	cr_expect(strstr(load_edited("  rate: 85%\n  source: seed, workaround 1", "  rate: 85\n  source: seed"), "is not N%"));
	cr_expect(strstr(load_edited("  rate: unmeasured\n", ""), "has no rate"));
	cr_expect(strstr(load_edited("start {daemon}.", "start {deamon}."), "unknown variable {deamon}"));
	cr_expect(strstr(load_edited("[label udp-scan]", "[label udp-scans]"), "no [label udp-scan]"));
	cr_expect(strstr(load_edited("linux-start: systemctl start named", "linux-strat: x"),
			 "unknown setting linux-strat"));
	cr_expect(strstr(load_edited("ports: 1900", "ports: 53"), "port 53 is in"));
	cr_expect(strstr(load_edited("  why: It hides the error", "  wy: It hides"), "unknown setting"));
}
