/* corr.h - streaming UDP correlation: endpoint statistics, recent flows, flows errors touched. */
#ifndef PM_CORR_H
#define PM_CORR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define CORR_MAX_CLIENTS 4 /* client addresses remembered per endpoint */

/* Statistics of one UDP endpoint (ip, port), the service side of its datagrams (the lower
 * port); the other side of a conversation is in its flows and in the socket fan-out. */
struct endpoint {
	struct pm_addr ip;
	uint16_t port;
	uint8_t app;	   /* enum hint_kind seen in its datagrams, HINT_NONE if none */
	uint8_t app_tries; /* datagrams looked at for it (at most APP_TRIES) */
	uint8_t n_client_addrs;
	uint8_t ttl_min, ttl_max; /* TTLs of its datagrams */
	uint32_t n_clients;    /* distinct peers that sent to it (first ones exactly, then more) */
	uint64_t client_bits;  /* hashed peers past the first CORR_MAX_CLIENTS */
	uint32_t n_peers;      /* distinct peers it sent to (estimated from peer_bits) */
	uint64_t peer_bits;    /* hashed addresses it sent to */
	uint64_t refused_bits; /* hashed addresses of the clients it refused */
	uint64_t tx_refused_since, tx_refused_during; /* datagrams to refused clients since its */
	uint64_t tx_other_since, tx_other_during;     /* first error / up to its latest one; and
						       * to every other peer */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	int64_t first_rx, last_rx, first_tx, last_tx;
	uint32_t errors; /* port unreachables about it (as the refused destination) */
	int64_t err_first, err_last;
	int64_t tx_before_err;	/* last datagram from it before its first error, 0 = none */
	int64_t tx_after_err;	/* first datagram from it after its latest error, 0 = none */
	uint64_t tx_since_err;	/* datagrams from it since its first error */
	uint64_t tx_during_err; /* ... up to its latest error */
	uint64_t rx_since_err;	/* datagrams to it since its first error */
	uint64_t rx_during_err;
	struct pm_addr clients[CORR_MAX_CLIENTS];
};

/* A UDP conversation an ICMP error touched. */
struct touched_flow {
	struct pm_addr client, server;
	uint16_t client_port, server_port;
	uint64_t c2s_packets, c2s_bytes, s2c_packets, s2c_bytes;
	int64_t first, last;
	int64_t c2s_last, s2c_last; /* last datagram each way, 0 = none */
	uint32_t errors;
	uint32_t index_slot; /* its slot in the table that finds it (corr.c) */
};

/* How an ICMP error joins the UDP traffic: filled by corr_icmp(). The "other way" is the
 * direction opposite to the refused datagram: for a refused reply, the client's requests. */
struct corr_link {
	bool is_reply;	       /* the quoted datagram was a reply (the client refused it) */
	bool orig_seen;	       /* the quoted datagram's direction was seen before the error */
	int64_t orig_delay;    /* error time minus the last datagram in that direction */
	int32_t flow;	       /* index into corr_flows(), -1 when not tracked */
	bool has_other;	       /* a datagram the other way came before the refused one */
	int64_t other_delay;   /* refused datagram's time minus the last one the other way */
	int64_t other_wait;    /* ... minus the first of that last run the other way */
	uint32_t other_run;    /* datagrams in that last run the other way (> 1: repeated) */
	uint64_t fwd_before;   /* datagrams of the flow in the refused direction, it included */
	uint64_t rev_before;   /* datagrams of the flow the other way, before the error */
	uint32_t sender_peers; /* distinct peers the refused datagram's socket sent to (estimate) */
};

struct corr;

/* A correlation state bounded by max_endpoints (endpoint table) and max_flows (recent-flow
 * cache and touched flows). NULL when out of memory. corr_free() keeps one state per thread
 * for the next corr_new() of the same sizes (emptied, not allocated again: a worker reading
 * hundreds of small captures); corr_drop_spare() frees it (a thread that is done). */
struct corr *corr_new(size_t max_endpoints, size_t max_flows);
void corr_free(struct corr *c);
void corr_drop_spare(void);

/* Feeds an outer UDP datagram (d->kind == PK_UDP) seen at ts (ns). */
void corr_udp(struct corr *c, int64_t ts, const struct dissection *d);

/* Asks for the memory corr_udp() will touch for datagram d, some datagrams before its turn:
 * CORR_AHEAD_FAR for the tables' slots (the flow's set, the endpoints' index, ...), then
 * CORR_AHEAD_NEAR, once those are in, for the flow and the endpoints they point to. Changes
 * nothing; for speed only. */
enum { CORR_AHEAD_FAR, CORR_AHEAD_NEAR };
void corr_udp_ahead(const struct corr *c, const struct dissection *d, int stage);

/* Feeds an ICMP error (d->kind == PK_ICMP_UNREACH); fills *link. Only port unreachables
 * (v4 3/3, v6 1/4) with ports count as errors about an endpoint. */
void corr_icmp(struct corr *c, int64_t ts, const struct dissection *d, struct corr_link *link);

/* Results, valid until corr_free(). */
bool corr_capped(const struct corr *c); /* the endpoint table or flow tracking overflowed */
uint64_t corr_eviction_passes(const struct corr *c); /* passes over a full endpoint table */
size_t corr_n_flows(const struct corr *c);
/* Flows the recent-flow cache filled in this capture: its ways filled at least once, at most
 * the cache's room, and what of it is in memory (its flows are packed in that order). */
size_t corr_flows_filled(const struct corr *c);
const struct touched_flow *corr_flow(const struct corr *c, size_t i);

/* Calls fn for every endpoint worth storing: those errors were about, those that sent
 * replies that bounced, every other port of their hosts that saw traffic, and every service
 * (port below 49152) that answered requests. */
typedef int (*corr_endpoint_fn)(const struct endpoint *e, void *arg);
int corr_each_endpoint(struct corr *c, corr_endpoint_fn fn, void *arg);

/* Calls fn for every (ip, ttl, packets) of hosts that matter (same selection). */
typedef int (*corr_ttl_fn)(const struct pm_addr *ip, uint8_t ttl, uint64_t packets, void *arg);
int corr_each_ttl(struct corr *c, corr_ttl_fn fn, void *arg);

/* Calls fn for every UDP source port that a port unreachable quoted (as source or
 * destination) with the datagrams and bytes sent from it: how big a reflected flood from a
 * service port was, whichever side of each conversation the endpoint table kept. */
typedef int (*corr_port_fn)(uint16_t port, uint64_t datagrams, uint64_t bytes, void *arg);
int corr_each_source_port(struct corr *c, corr_port_fn fn, void *arg);

#endif
