/* scan.c - the per-packet loop: every record counted and dissected, interesting ones handed on. */
#include "analyzer/scan.h"

#include <string.h>

static void count_anomalies(struct scan_stats *st, uint64_t bits)
{
	while (bits) {
		int a = __builtin_ctzll(bits);
		bits &= bits - 1;
		if (a < AN__COUNT)
			st->anomalies[a]++;
	}
}

int scan_capture(struct cap_reader *r, struct scan_stats *st, scan_fn fn, void *arg)
{
	struct cap_pkt pkt;
	struct dissection d;
	int link = cap_linktype(r), rc;
	memset(st, 0, sizeof *st);
	while ((rc = cap_next(r, &pkt)) == 1) {
		int64_t ts = pkt.ts_sec * 1000000000LL + pkt.ts_nsec;
		if (!st->packets++)
			st->first_ns = ts;
		if (ts > st->last_ns || st->packets == 1)
			st->last_ns = ts;
		if (ts < st->first_ns)
			st->first_ns = ts;
		st->bytes += pkt.caplen;
		enum pkt_kind k = dissect_packet(link, pkt.data, pkt.caplen, pkt.len, &d);
		if (d.anomalies)
			count_anomalies(st, d.anomalies);
		if (k == PK_OTHER)
			continue;
		if (k == PK_UDP) {
			st->udp++;
		} else if (k == PK_ICMP_UNREACH) {
			st->icmp_unreach++;
			const struct icmp_error *ie = &d.icmp;
			if (pm_is_port_unreachable(ie->family, ie->type, ie->code))
				st->port_unreach++;
		} else {
			st->time_exceeded++;
		}
		int f = fn ? fn(&pkt, cap_packets_read(r), ts, &d, arg) : SCAN_GO_ON;
		if (f != SCAN_GO_ON)
			return f;
	}
	return rc < 0 ? -1 : 0;
}
