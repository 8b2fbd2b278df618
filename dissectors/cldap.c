/* cldap.c - connectionless LDAP (RFC 1798; LDAPMessage of RFC 4511 §4.1.1, §4.5): searches on
 * UDP 389, as Active Directory's domain controller locator and reflection attacks use them. */
#include <stdio.h>

#include "dissectors/internal.h"

#define LDAP_SEARCH_REQUEST 0x63   /* [APPLICATION 3] */
#define LDAP_SEARCH_ENTRY 0x64	   /* [APPLICATION 4] */
#define LDAP_SEARCH_DONE 0x65	   /* [APPLICATION 5] */
#define LDAP_SEARCH_REFERENCE 0x73 /* [APPLICATION 19] */

/*
 * On 389 (apphint.c): an LDAPMessage SEQUENCE whose length fits the payload, a messageID
 * INTEGER that is not negative, then a search request or one of its results (the tag
 * present). app_code = the protocolOp tag.
 */
bool cldap_recognise(const struct app_in *in, struct app_hint *h, uint64_t *an)
{
	struct cursor c = in->c;
	uint8_t tag;
	size_t len;
	long id;
	if (!ber_tl(&c, &tag, &len) || tag != BER_SEQUENCE)
		return false;
	size_t whole = in->c.left - c.left + len; /* responses may hold several messages */
	if (in->wire_len != PM_LEN_UNKNOWN && whole > in->wire_len)
		return false;
	cur_limit(&c, len);
	if (!ber_int(&c, &id) || id < 0)
		return false;
	uint8_t op = cur_u8(&c);
	if (c.err || (op != LDAP_SEARCH_REQUEST && op != LDAP_SEARCH_ENTRY &&
		      op != LDAP_SEARCH_DONE && op != LDAP_SEARCH_REFERENCE))
		return false;
	h->kind = HINT_CLDAP;
	h->app_code = op;
	return true;
}

void cldap_str(const struct app_hint *h, char *buf, size_t buf_len)
{
	const char *op = h->app_code == LDAP_SEARCH_REQUEST ? "search-request"
			 : h->app_code == LDAP_SEARCH_ENTRY ? "search-result-entry"
			 : h->app_code == LDAP_SEARCH_DONE  ? "search-result-done"
							    : "search-result-reference";
	snprintf(buf, buf_len, "cldap %s", op);
}
