/* world.c - random streams and the hosts of a generated capture, with documentation-only
 * addresses (RFC 5737 IPv4 blocks, RFC 3849 IPv6 prefix). */
#include "gen.h"

#include <arpa/inet.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
	r->s = splitmix64(&x);
	if (r->s == 0)
		r->s = 0x9E3779B97F4A7C15ULL;
}

/* The i-th IPv4 address of a pool (host byte order), 0 when the pool has no more. */
static uint32_t pool_v4(enum pool pool, int i)
{
	static const uint32_t n192 = 0xC0000200u, n198 = 0xC6336400u, n203 = 0xCB007100u;
	switch (pool) {
	case POOL_BG_CLIENT:
		return i < 126 ? n198 + 1 + (uint32_t)i : 0;
	case POOL_BG_SERVER:
		return i < 62 ? n203 + 1 + (uint32_t)i : 0;
	case POOL_SC_SERVER:
		return i < 223 ? n192 + 1 + (uint32_t)i : 0;
	case POOL_SC_CLIENT:
		if (i < 126)
			return n198 + 129 + (uint32_t)i;
		return i < 126 + 190 ? n203 + 65 + (uint32_t)(i - 126) : 0;
	case POOL_ROUTER:
		return i < 31 ? n192 + 224 + (uint32_t)i : 0;
	default:
		return 0;
	}
}

static const uint16_t pool_v6_net[POOL__COUNT] = {0x100, 0x200, 0x300, 0x400, 0xffff};

static uint64_t addr_hash(const uint8_t *a, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 0x100000001b3ULL;
	uint64_t x = h;
	return splitmix64(&x);
}

static void host_set_link(struct world *w, struct host *h, enum pool pool)
{
	uint64_t hash = addr_hash(h->addr, h->fam == 4 ? 4 : 16);
	h->mac[0] = 0x02; /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		h->mac[i] = (uint8_t)(hash >> (8 * i));
	h->vlan = 0;
	h->qinq = false;
	if (pool != POOL_BG_CLIENT && pool != POOL_SC_CLIENT)
		return;
	if ((uint32_t)(hash >> 32) < w->vlan_share || w->vlan_share == UINT32_MAX) {
		h->vlan = (uint16_t)(100 + 10 * ((hash >> 8) % 20));
		h->qinq = (hash >> 16) % 5 == 0;
	}
}

int host_new(struct world *w, enum pool pool, int fam, int ttl0, int hops)
{
	if (w->n_hosts >= MAX_HOSTS)
		return -1;
	struct host *h = &w->hosts[w->n_hosts];
	memset(h, 0, sizeof(*h));
	h->fam = (uint8_t)fam;
	if (fam == 4) {
		uint32_t a = pool_v4(pool, w->next4[pool]);
		if (a == 0)
			return -1;
		w->next4[pool]++;
		h->addr[0] = (uint8_t)(a >> 24);
		h->addr[1] = (uint8_t)(a >> 16);
		h->addr[2] = (uint8_t)(a >> 8);
		h->addr[3] = (uint8_t)a;
	} else {
		int i = ++w->next6[pool];
		if (i > 0xffff)
			return -1;
		h->addr[0] = 0x20, h->addr[1] = 0x01, h->addr[2] = 0x0d, h->addr[3] = 0xb8;
		h->addr[4] = (uint8_t)(pool_v6_net[pool] >> 8);
		h->addr[5] = (uint8_t)pool_v6_net[pool];
		h->addr[14] = (uint8_t)(i >> 8);
		h->addr[15] = (uint8_t)i;
	}
	h->ttl0 = (uint8_t)ttl0;
	h->hops = (uint8_t)hops;
	host_set_link(w, h, pool);
	return w->n_hosts++;
}

void world_init(struct world *w, double vlan_share, uint64_t start_ns)
{
	memset(w, 0, sizeof(*w));
	w->start_ns = start_ns;
	if (vlan_share >= 1.0)
		w->vlan_share = UINT32_MAX;
	else if (vlan_share > 0)
		w->vlan_share = (uint32_t)(vlan_share * 4294967295.0);
	for (int i = 0; i < N_ROUTERS; i++) {
		w->router4[i] = host_new(w, POOL_ROUTER, 4, 255, i);
		w->router6[i] = host_new(w, POOL_ROUTER, 6, 255, i);
	}
}

void host_str(const struct host *h, char *buf, size_t buf_len)
{
	if (!inet_ntop(h->fam == 4 ? AF_INET : AF_INET6, h->addr, buf, (socklen_t)buf_len))
		snprintf(buf, buf_len, "?");
}
