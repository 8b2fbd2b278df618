/* refusal_evidence.c - the sentences of a refused-request finding. Every number stated next
 * to "error(s)", "request(s)", "repl(y/ies)" and "client(s)" is the finding's own field of that
 * name; other counts use other words ("datagrams", "of the errors"), so the evidence can never
 * contradict the counts beside it (tests/unit/test_evidence.c checks it). */
#include <stdio.h>
#include <string.h>

#include "analyzer/diagnose_int.h"
#include "dissectors/dissect.h"

static void who_refused(struct dg *x, const struct refusal *r)
{
	char t0[32], t1[32];
	fmt_clock(r->t_first, t0, sizeof t0);
	fmt_clock(r->t_last, t1, sizeof t1);
	if (r->self) {
		char how[96] = "";
		if (r->icmp_ttl >= 0)
			snprintf(how, sizeof how, ", %s %lld%s", r->v6 ? "hop limit" : "TTL",
				 (long long)r->icmp_ttl,
				 initial_ttl((int)r->icmp_ttl) == 255
				     ? ": sent with 255, as routers do"
				     : ": the host, not a router");
		char when[80];
		snprintf(when, sizeof when, strcmp(t0, t1) == 0 ? "at %s" : "between %s and %s", t0,
			 t1);
		dg_evidence(x, r->fid,
			    "%lld %s: %s from %lld %s to %s %s %s refused by %s itself (%s%s).",
			    (long long)r->errors, pm_plural(r->errors, "error", "errors"),
			    pm_plural(r->errors, "a datagram", "datagrams"),
			    (long long)r->n_clients, pm_plural(r->n_clients, "client", "clients"),
			    r->ep, when, pm_plural(r->errors, "was", "were"), r->ip,
			    r->v6 ? "ICMPv6 port unreachable" : "ICMP port unreachable", how);
	}
	if (r->other)
		dg_evidence(
		    x, r->fid,
		    "%lld of the errors about %s came from %s, not from %s: a router"
		    " or firewall on the path rejects the traffic (an iptables or nftables REJECT"
		    " rule answers with port unreachable by default).",
		    (long long)r->other, r->ep, r->reporter, r->ip);
	dg_evidence(x, r->fid, "In the capture: %lld %s to %s and %lld %s from it.",
		    (long long)r->rx, pm_plural(r->rx, "request", "requests"), r->ep,
		    (long long)r->tx, pm_plural(r->tx, "reply", "replies"));
}

static void forged_evidence(struct dg *x, const struct refusal *r)
{
	if (r->udp_ttl >= 0)
		dg_evidence(
		    x, r->fid,
		    "The errors carry TTL %lld (sent with %d) while %s's own"
		    " datagrams arrive with TTL %lld (sent with %d): another device answers in"
		    " its name, unless a NAT or proxy on the path rewrites the TTL of one of"
		    " them.",
		    (long long)r->icmp_ttl, initial_ttl((int)r->icmp_ttl), r->ip,
		    (long long)r->udp_ttl, initial_ttl((int)r->udp_ttl));
	else
		dg_evidence(
		    x, r->fid,
		    "The errors start with TTL 255 and quote only %lld bytes, as"
		    " routers and firewalls do; host stacks start at 64 or 128 and Linux quotes"
		    " up to %d bytes: a firewall answers in the name of %s.",
		    (long long)r->quote_len, r->v6 ? 1232 : 548, r->ip);
}

/* When ip:port answered: never, until the errors, again after them, or in between. */
static void answer_evidence(struct dg *x, const struct refusal *r, const char *label)
{
	char a[32], b[32], span[32];
	fmt_clock(r->before, a, sizeof a);
	fmt_clock(r->after, b, sizeof b);
	fmt_duration(r->span_ns, span, sizeof span);
	if (strcmp(label, "intermittent") == 0) {
		dg_evidence(x, r->fid,
			    "Between the first and the last refusal, %s answered the"
			    " refused clients too (%lld %s): it answers and refuses the same"
			    " clients in alternation; %.0f%% of the datagrams to it were refused.",
			    r->ep, (long long)r->tx_refused,
			    pm_plural(r->tx_refused, "datagram", "datagrams"),
			    r->rx ? 100.0 * (double)r->errors / (double)r->rx : 100.0);
		dg_evidence(x, r->fid,
			    "A pool behind one address (load balancer, anycast, ECMP)"
			    " where some members lack the service, or a daemon in a crash loop: not"
			    " one outage, so no outage window.");
	} else if (strcmp(label, "firewall-reject") == 0 && r->tx_other && !r->other) {
		dg_evidence(
		    x, r->fid,
		    "%s kept answering other clients between the refusals (%lld"
		    " %s), while the refused clients got no answer: a filter on %s, or in"
		    " front of it, rejects these sources (iptables -j REJECT and nftables reject"
		    " answer with port unreachable by default).",
		    r->ep, (long long)r->tx_other, pm_plural(r->tx_other, "datagram", "datagrams"),
		    r->ip);
	} else if (r->tx == 0) {
		dg_evidence(x, r->fid, "No datagram from %s was seen in the %s captured.", r->ep,
			    span);
	} else if (r->before && r->after) {
		dg_evidence(x, r->fid,
			    "%s answered until %s and again from %s: it was down in"
			    " between.",
			    r->ep, a, b);
	} else if (r->before) {
		char t1[32];
		fmt_clock(r->t_last, t1, sizeof t1);
		dg_evidence(x, r->fid,
			    "%s answered until %s, then stopped: down since then, still"
			    " refusing at %s, and no answer from it after that in the capture.",
			    r->ep, a, t1);
	} else if (r->after) {
		dg_evidence(x, r->fid, "%s started answering at %s, after the errors.", r->ep, b);
	}
}

static void benign_evidence(struct dg *x, const struct refusal *r, const char *label)
{
	if (strcmp(label, "stream-ended") == 0) {
		dg_evidence(
		    x, r->fid,
		    "%s had sent to these peers in the same conversations (%lld of"
		    " the errors end a two-way conversation) and sent nothing after: it closed"
		    " its socket (a call hung up, a connection abandoned) while the peers still"
		    " sent for a moment.",
		    r->ep, (long long)r->two_way);
		dg_evidence(x, r->fid,
			    "Benign: the end of a conversation, not a failure. Nothing to"
			    " fix.");
		return;
	}
	if (r->hostile && strcmp(r->app, "messenger") == 0)
		dg_evidence(x, r->fid,
			    "The refused payload is a Windows Messenger service message"
			    " (DCE/RPC to ports 1026-1029): spam sprayed at whole address ranges.");
	else if (r->hostile)
		dg_evidence(x, r->fid,
			    "The refused payload is a probe of the SQL Server Resolution"
			    " Service (%s): the SQL Slammer worm sends 376 bytes to port 1434 from"
			    " infected hosts.",
			    r->app);
	if (r->p2p)
		dg_evidence(x, r->fid,
			    "The sending socket talked to %lld different peers: a"
			    " peer-to-peer client trying a peer that has left.",
			    (long long)r->peers);
	else if (r->max_shots <= 1)
		dg_evidence(x, r->fid,
			    "Each sender sent a single datagram, and %s never sent"
			    " anything back to them.",
			    r->ip);
	dg_evidence(x, r->fid,
		    "Nothing on %s asked for these datagrams: do not start a service"
		    " for them. If they are many or hostile, look at the senders and filter them at"
		    " the network edge.",
		    r->ip);
}

static void alternative_evidence(struct dg *x, const struct refusal *r, const char *label)
{
	if (r->alt_port[0])
		dg_evidence(x, r->fid, "%s answers %s on %s: %s.", r->ip,
			    strcmp(r->app, "dns") == 0 ? "DNS" : r->app,
			    strchr(r->alt_port, ',') ? "other ports" : "another port", r->alt_port);
	if (r->alt_host[0])
		dg_evidence(x, r->fid, "The same clients get answers on port %lld from %s.",
			    (long long)r->port, r->alt_host);
	if (strcmp(label, "service-down") == 0 && !r->talked && !r->configured && !r->two_way)
		dg_evidence(x, r->fid,
			    "%s never sent anything to these senders, and nothing in the"
			    " datagrams names a service clients are configured to use: they may be"
			    " datagrams nobody on %s asked for (unsolicited) rather than a missing"
			    " service.",
			    r->ip, r->ip);
	if (r->rate_limited)
		dg_evidence(
		    x, r->fid,
		    "%lld datagrams to it got neither an answer nor an error,"
		    " against %lld %s: the sender rate-limits ICMP (Linux: a burst of"
		    " about 6, then 1 per second, net.ipv4.icmp_ratelimit = 1000 ms), so the"
		    " failure is larger than the error count shows.",
		    (long long)r->unanswered, (long long)r->errors,
		    pm_plural(r->errors, "error", "errors"));
}

void dg_refusal_evidence(struct dg *x, const struct refusal *r, const char *label)
{
	who_refused(x, r);
	if (strcmp(label, "firewall-reject") == 0 && r->forged)
		forged_evidence(x, r);
	if (strcmp(label, "stream-ended") == 0 || strcmp(label, "unsolicited") == 0) {
		benign_evidence(x, r, label);
		return;
	}
	answer_evidence(x, r, label);
	alternative_evidence(x, r, label);
}
