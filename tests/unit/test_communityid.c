/* test_communityid.c - Community ID v1 against the spec's published vectors
 * (corelight/community-id-spec, baseline/baseline_deflt.json and baseline_seed1.json). */
#include <string.h>

#include <criterion/criterion.h>

#include "reports/report_int.h"

struct vector {
	int proto;
	const char *saddr, *daddr;
	int sport, dport; /* -1: the protocol has no ports */
	uint16_t seed;
	const char *id;
};

static const struct vector V[] = {
    {17, "192.168.1.52", "8.8.8.8", 54585, 53, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
    {17, "8.8.8.8", "192.168.1.52", 53, 54585, 0, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
    {6, "66.35.250.204", "128.232.110.120", 80, 34855, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 0,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
    {6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 0,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
    {132, "192.168.170.8", "192.168.170.56", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
    {132, "192.168.170.56", "192.168.170.8", 7, 7, 0, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
    {46, "10.1.12.1", "10.1.12.2", -1, -1, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
    {46, "10.1.12.2", "10.1.12.1", -1, -1, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
    {17, "192.168.1.52", "8.8.8.8", 54585, 53, 1, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80, 1, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 1,
     "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {132, "192.168.170.56", "192.168.170.8", 7, 7, 1, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {46, "10.1.12.2", "10.1.12.1", -1, -1, 1, "1:rYir8gphR31noO9iDRQmF/BteEI="},
};

Test(communityid, published_vectors)
{
	for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
		char id[REPORT_COMMUNITY_ID_LEN];
		cr_assert_eq(report_community_id(V[i].saddr, V[i].sport, V[i].daddr, V[i].dport,
						 V[i].proto, V[i].seed, id, sizeof id),
			     0, "vector %zu", i);
		cr_assert_str_eq(id, V[i].id, "vector %zu: %s %d -> %s %d proto %d seed %u", i,
				 V[i].saddr, V[i].sport, V[i].daddr, V[i].dport, V[i].proto,
				 V[i].seed);
	}
}

/* Equal addresses: the ports decide the order, so both directions still agree. */
Test(communityid, same_host_both_directions)
{
	char a[REPORT_COMMUNITY_ID_LEN], b[REPORT_COMMUNITY_ID_LEN];
	cr_assert_eq(report_community_id("::1", 5353, "::1", 53, 17, 0, a, sizeof a), 0);
	cr_assert_eq(report_community_id("::1", 53, "::1", 5353, 17, 0, b, sizeof b), 0);
	cr_assert_str_eq(a, b);
	cr_assert_eq(strlen(a), 30);
}

Test(communityid, none_where_undefined)
{
	char id[REPORT_COMMUNITY_ID_LEN];
	cr_assert_eq(report_community_id("192.0.2.1", 1, "2001:db8::1", 2, 17, 0, id, sizeof id),
		     -1, "mixed families");
	cr_assert_eq(report_community_id("192.0.2.1", 8, "192.0.2.2", 0, 1, 0, id, sizeof id), -1,
		     "ICMP: a quote has no type and code of its own");
	cr_assert_eq(report_community_id("not an address", 1, "192.0.2.2", 2, 17, 0, id, sizeof id),
		     -1);
	cr_assert_eq(report_community_id(NULL, 1, "192.0.2.2", 2, 17, 0, id, sizeof id), -1);
	cr_assert_eq(report_community_id("192.0.2.1", -1, "192.0.2.2", 2, 17, 0, id, sizeof id), -1,
		     "UDP without ports");
	cr_assert_eq(report_community_id("192.0.2.1", 1, "192.0.2.2", 2, 17, 0, id, 8), -1,
		     "buffer too small");
}

/* The SQL function the reports use gives the same IDs, and NULL where there is none. */
Test(communityid, sql_function)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char err[REPORT_ERRBUF_SIZE];
	cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	cr_assert_eq(rep_sql_register(db, err), 0, "%s", err);
	cr_assert_eq(sqlite3_prepare_v2(db,
					"SELECT community_id('8.8.8.8', 53, '192.168.1.52', "
					"54585, 17), community_id(NULL, 1, '10.0.0.1', 2, 17), "
					"community_id('10.0.0.1', NULL, '10.0.0.2', NULL, 17)",
					-1, &st, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0),
			 "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
	cr_assert_eq(sqlite3_column_type(st, 1), SQLITE_NULL);
	cr_assert_eq(sqlite3_column_type(st, 2), SQLITE_NULL);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
