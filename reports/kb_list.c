/* kb_list.c - what `portmortem explain` knows: the list of its entries, and topics as people type
 * them. */
#include <ctype.h>
#include <string.h>

#include "reports/kb_int.h"

int kb_explain_list(FILE *out)
{
	char err[REPORT_ERRBUF_SIZE];
	const struct kb_db *db = kb_get(err, sizeof err);
	if (!db) {
		fprintf(stderr, "portmortem: knowledge base: %s\n", err);
		return -1;
	}
	fputs("Diagnosis labels (portmortem explain LABEL):\n", out);
	for (int i = 0; kb_labels[i]; i++) {
		const struct kb_section *l = kb_find(db, KB_LABEL, kb_labels[i]);
		const char *summary = l ? kb_field(l, "summary") : NULL;
		fprintf(out, "  %-17s %s\n", kb_labels[i], summary ? summary : "");
	}
	fputs("\nServices (portmortem explain SERVICE, or a PORT):\n", out);
	for (int i = 0; i < db->n_s; i++) {
		const struct kb_section *s = &db->s[i];
		char ports[64] = "";
		size_t used = 0;
		if (s->kind != KB_SERVICE || !s->name || s->n_r == 0)
			continue; /* "other", the fallback, has no entry of its own */
		for (int r = 0; r < s->n_r && used + 16 < sizeof ports; r++) {
			used += (size_t)snprintf(ports + used, sizeof ports - used, "%s%u",
						 r ? "," : "", s->r[r].lo);
			if (s->r[r].hi != s->r[r].lo)
				used += (size_t)snprintf(ports + used, sizeof ports - used, "-%u",
							 s->r[r].hi);
		}
		const char *name = kb_field(s, "name");
		fprintf(out, "  %-17s %-16s %s\n", s->name, ports[0] ? ports : "-",
			name ? name : "");
	}
	return ferror(out) ? -1 : 0;
}

int kb_explain_topic(const char *what, FILE *out)
{
	char norm[64];
	size_t n = 0;
	if (!what)
		return -1;
	if (kb_explain(what, out) == 0)
		return 0;
	/* "service down", "Service_Down", " wrong port " name the labels service-down, ... */
	while (*what && isspace((unsigned char)*what))
		what++;
	for (; *what && n + 1 < sizeof norm; what++) {
		unsigned char ch = (unsigned char)*what;
		char mapped = ch == ' ' || ch == '_' || ch == '\t' ? '-' : (char)tolower(ch);
		if (mapped == '-' && (n == 0 || norm[n - 1] == '-'))
			continue; /* runs of separators are one dash */
		norm[n++] = mapped;
	}
	while (n > 0 && norm[n - 1] == '-')
		n--;
	norm[n] = '\0';
	if (*what || n == 0)
		return -1; /* too long to be any entry */
	return kb_explain(norm, out);
}
