/* batch.c - the captures of one `analyze` run: listing, unchanged files recognised unread,
 * outcome counts and the summary line, the progress line and the SIGUSR1 snapshot. */
#include "analyzer/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dissectors/dissect.h"

#define KEY_MAX 4200 /* a capture's identity: 32 hex digits, or more with |filter=... */

/* ---- listing ---- */

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger)
			free(buf);
		buf = bigger, cap *= 2;
	}
	if (buf && ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* The names in `from`, NUL-separated when it holds a NUL byte, else newline-separated: an
 * array of n pointers into *text (both freed by the caller). -1 when it cannot be read. */
static int read_names(const char *from, char **text, char ***names, int *n)
{
	FILE *f = strcmp(from, "-") == 0 ? stdin : fopen(from, "rb");
	size_t len = 0;
	*text = NULL, *names = NULL, *n = 0;
	if (!f)
		return -1;
	char *buf = read_all(f, &len);
	int err = errno;
	if (f != stdin)
		fclose(f);
	if (!buf) {
		errno = err ? err : ENOMEM;
		return -1;
	}
	char sep = memchr(buf, '\0', len) ? '\0' : '\n';
	size_t count = 1;
	for (size_t i = 0; i < len; i++)
		count += buf[i] == sep;
	char **v = malloc(count * sizeof *v), *room = realloc(buf, len + 1); /* the last NUL */
	buf = room ? room : buf;
	if (!v || !room) {
		free(v);
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	char *end = buf + len;
	*end = '\0';
	for (char *p = buf; p < end;) {
		char *q = memchr(p, sep, (size_t)(end - p));
		q = q ? q : end;
		*q = '\0';
		if (q > p)
			v[(*n)++] = p;
		p = q + 1;
	}
	*text = buf, *names = v;
	return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static struct batch_item *new_item(struct batch *b, const char *path)
{
	if (b->n == b->cap) {
		int ncap = b->cap ? b->cap * 2 : 64;
		struct batch_item *grown = realloc(b->items, (size_t)ncap * sizeof *grown);
		if (!grown)
			return NULL;
		b->items = grown, b->cap = ncap;
	}
	struct batch_item *it = &b->items[b->n];
	memset(it, 0, sizeof *it);
	it->size = -1;
	if (!(it->path = strdup(path)))
		return NULL;
	b->n++;
	return it;
}

/* Whether the regular file `it` (its identity filled) is stored unchanged: it->known. */
static void look_up(struct batch *b, struct batch_item *it)
{
	char key[KEY_MAX], errbuf[DB_ERRBUF_SIZE];
	struct db_file_id f = {it->real, it->size, it->mtime_ns, it->inode};
	int found = db_file_lookup(b->db, &b->lookup, &f, b->filter, key, sizeof key, errbuf);
	if (found < 0)
		fprintf(stderr, "portmortem: database: %s (the file is read again)\n", errbuf);
	if (found == 1)
		it->known = strdup(key);
}

static void add_capture(struct batch *b, const char *path, const struct stat *st)
{
	char real[PATH_MAX];
	if (strcmp(path, "-") == 0) {
		if (b->stdin_seen)
			return;
		b->stdin_seen = true;
	}
	struct batch_item *it = new_item(b, path);
	if (!it) {
		fprintf(stderr, "portmortem: out of memory listing captures\n");
		b->status = 1;
		return;
	}
	if (!st || !S_ISREG(st->st_mode) || !realpath(path, real))
		return;
	it->real = strdup(real);
	it->size = (int64_t)st->st_size;
	it->mtime_ns = mtime_ns(st);
	it->inode = (int64_t)st->st_ino;
	if (it->real && b->db)
		look_up(b, it);
}

static void on_item(const struct cap_walk_item *wi, void *arg)
{
	struct batch *b = arg;
	char why[CAP_ERRBUF_SIZE];
	if (wi->kind == CAP_WALK_ERROR) {
		fprintf(stderr, "portmortem: %s: %s\n", wi->path, wi->err);
		b->status = 1;
		b->n_unreadable++;
		return;
	}
	if (wi->kind == CAP_WALK_FOUND) {
		/* An unchanged capture is taken before its first bytes are read. */
		size_t before = (size_t)b->n;
		add_capture(b, wi->path, wi->st);
		if ((size_t)b->n == before || b->items[b->n - 1].known)
			return;
		enum cap_sniff s = cap_sniff(wi->path, why, sizeof why);
		if (s == CAP_SNIFF_CAPTURE)
			return;
		struct batch_item *it = &b->items[--b->n]; /* not a capture after all */
		free(it->path), free(it->real), free(it->known);
		if (s == CAP_SNIFF_ERROR) {
			fprintf(stderr, "portmortem: %s: %s\n", wi->path, why);
			b->status = 1;
			b->n_unreadable++;
			return;
		}
		b->n_skipped++;
		if (b->verbose)
			fprintf(stderr, "portmortem: %s: skipped: %s\n", wi->path, why);
		return;
	}
	add_capture(b, wi->path, wi->st);
}

int batch_list(struct batch *b, sqlite3 *db, const char *const *args, int n_args,
	       const char *files_from)
{
	char *text = NULL, **names = NULL;
	int n_names = 0;
	b->db = db;
	cap_walk_items(args, n_args, false, on_item, b);
	if (files_from) {
		if (read_names(files_from, &text, &names, &n_names) < 0) {
			fprintf(stderr, "portmortem: --files-from %s: %s\n",
				strcmp(files_from, "-") == 0 ? "(standard input)" : files_from,
				strerror(errno));
			return -1;
		}
		cap_walk_items((const char *const *)names, n_names, true, on_item, b);
	}
	free(names);
	free(text);
	sqlite3_finalize(b->lookup);
	b->lookup = NULL;
	b->db = NULL;
	return 0;
}

/* ---- outcomes ---- */

static void remember(struct batch *b, const struct batch_item *it, const char *key)
{
	if (b->n_files == b->files_cap) {
		int ncap = b->files_cap ? b->files_cap * 2 : 64;
		struct db_file_id *f = realloc(b->files, (size_t)ncap * sizeof *f);
		if (f)
			b->files = f;
		char **k = f ? realloc(b->file_keys, (size_t)ncap * sizeof *k) : NULL;
		if (!k)
			return; /* only a slower re-run */
		b->file_keys = k, b->files_cap = ncap;
	}
	char *copy = strdup(key);
	if (!copy)
		return;
	b->files[b->n_files] = (struct db_file_id){it->real, it->size, it->mtime_ns, it->inode};
	b->file_keys[b->n_files++] = copy;
}

void batch_count(struct batch *b, int i, enum batch_outcome o, const char *key)
{
	const struct batch_item *it = &b->items[i];
	b->n_stored += o == BATCH_STORED || o == BATCH_CUT;
	b->n_cut += o == BATCH_CUT;
	b->n_known += o == BATCH_KNOWN;
	b->n_unchanged += o == BATCH_KNOWN && it->known;
	b->n_failed += o == BATCH_FAILED;
	b->n_db += o == BATCH_DB;
	/* A file cut short is read again next time: it may be a capture still being written. */
	if ((o == BATCH_STORED || (o == BATCH_KNOWN && !it->known)) && it->real && key[0])
		remember(b, it, key);
}

int batch_remember(struct batch *b, sqlite3 *db, char *errbuf)
{
	return db_files_remember(db, b->files, (const char *const *)b->file_keys, b->n_files,
				 b->filter, errbuf);
}

static void part(FILE *out, bool *first, int n, const char *what)
{
	if (!n)
		return;
	fprintf(out, "%s%d %s", *first ? "" : ", ", n, what);
	*first = false;
}

void batch_summary(const struct batch *b, FILE *out)
{
	char known[96];
	bool first = false;
	int files = b->n + b->n_skipped + b->n_unreadable;
	fprintf(out, "portmortem: %d %s: %d stored", files, pm_plural(files, "file", "files"),
		b->n_stored);
	if (b->n_cut)
		fprintf(out, " (%d cut short)", b->n_cut);
	if (b->n_unchanged == b->n_known)
		snprintf(known, sizeof known, "already in the database%s",
			 b->n_known ? " (unchanged, not read again)" : "");
	else if (b->n_unchanged)
		snprintf(known, sizeof known,
			 "already in the database (%d unchanged, not read again)", b->n_unchanged);
	else
		snprintf(known, sizeof known, "already in the database");
	part(out, &first, b->n_known, known);
	part(out, &first, b->n_skipped, "skipped (not captures)");
	part(out, &first, b->n_failed + b->n_unreadable, "could not be read");
	part(out, &first, b->n_db, "not stored (database error)");
	fputc('\n', out);
}

void batch_free(struct batch *b)
{
	for (int i = 0; i < b->n; i++) {
		free(b->items[i].path);
		free(b->items[i].real);
		free(b->items[i].known);
	}
	for (int i = 0; i < b->n_files; i++)
		free(b->file_keys[i]);
	free(b->items);
	free(b->files);
	free(b->file_keys);
	sqlite3_finalize(b->lookup);
}

/* ---- progress ---- */

struct slot {
	struct cap_watch watch;
	const char *path; /* NULL: idle */
	long long size;
	struct timespec started;
};

struct progress {
	pthread_t tid;
	pthread_mutex_t lock; /* slots' path and size, done, finished_bytes */
	pthread_mutex_t *print_lock;
	struct slot *slots;
	int n_slots, total, done;
	uint64_t finished_bytes; /* of the captures done */
	bool line, shown, running;
	const char *phase; /* after the captures: what is being done */
	atomic_bool stop;
	struct timespec t0;
};

static double since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void human(double bytes, char *out, size_t len)
{
	if (bytes >= 1e9)
		snprintf(out, len, "%.2f GB", bytes / 1e9);
	else
		snprintf(out, len, "%.1f MB", bytes / 1e6);
}

/* "rot_00013.pcap.gz: 1.2 of 3.4 MB (35%), 41.0 MB/s" for each slot reading; the total. */
static size_t describe_slots(struct progress *p, char *buf, size_t len, uint64_t *all)
{
	size_t used = 0;
	buf[0] = '\0';
	*all = p->finished_bytes;
	for (int i = 0; i < p->n_slots && used < len; i++) {
		struct slot *s = &p->slots[i];
		if (!s->path)
			continue;
		uint64_t got = cap_watch_bytes(&s->watch);
		double secs = since(&s->started);
		char a[32], b[32];
		*all += got;
		human((double)got, a, sizeof a);
		human((double)(s->size > 0 ? s->size : 0), b, sizeof b);
		int k = s->size > 0
			    ? snprintf(buf + used, len - used, "%s%s: %s of %s (%.0f%%), %.1f MB/s",
				       used ? "; " : "", s->path, a, b,
				       100.0 * (double)got / (double)s->size,
				       secs > 0 ? (double)got / 1e6 / secs : 0.0)
			    : snprintf(buf + used, len - used, "%s%s: %s read", used ? "; " : "",
				       s->path, a);
		used += k > 0 ? (size_t)k : 0;
	}
	return used < len ? used : len - 1;
}

static void snapshot(struct progress *p, bool as_line)
{
	char slots[2048], rate[48];
	uint64_t all;
	pthread_mutex_lock(p->print_lock);
	pthread_mutex_lock(&p->lock);
	if (as_line && !p->line) { /* not a terminal, or the captures are read */
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(p->print_lock);
		return;
	}
	size_t n = describe_slots(p, slots, sizeof slots, &all);
	double secs = since(&p->t0);
	snprintf(rate, sizeof rate, "%.1f MB/s", secs > 0 ? (double)all / 1e6 / secs : 0.0);
	if (as_line) {
		fprintf(stderr, "\r\033[K");
		if (p->total > 1)
			fprintf(stderr, "[%d/%d captures, %s] ", p->done, p->total, rate);
		fprintf(stderr, "%.*s", (int)(n > 200 ? 200 : n), slots);
		p->shown = true;
	} else {
		if (p->shown)
			fprintf(stderr, "\r\033[K");
		fprintf(stderr,
			"portmortem: progress: %d of %d captures done, %.0f s, %s in all%s%s%s%s\n",
			p->done, p->total, secs, rate, n ? "; reading " : "", slots,
			p->phase ? "; " : "", p->phase ? p->phase : "");
		p->shown = false;
	}
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(p->print_lock);
}

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	/* The line appears once a run has lasted a second (a quick run leaves none), then twice
	 * a second. PORTMORTEM_PROGRESS_AFTER=SECONDS changes the first: 0 draws it from the
	 * start, ten times a second (tests/batch.sh, whose run may be quick). */
	const char *env = getenv("PORTMORTEM_PROGRESS_AFTER");
	double after = env && *env ? strtod(env, NULL) : 1.0;
	const struct timespec tick = {0, after > 0 ? 500000000 : 100000000};
	while (!p->stop) {
		int sig = sigtimedwait(&usr1, NULL, &tick);
		if (p->stop)
			break;
		if (sig == SIGUSR1)
			snapshot(p, false);
		else if (since(&p->t0) >= after)
			snapshot(p, true);
	}
	return NULL;
}

struct progress *progress_start(int n_workers, int total, bool line, pthread_mutex_t *print_lock)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	struct progress *p = calloc(1, sizeof *p);
	if (!p || !(p->slots = calloc((size_t)n_workers, sizeof *p->slots))) {
		free(p);
		return NULL;
	}
	p->n_slots = n_workers, p->total = total, p->line = line, p->print_lock = print_lock;
	pthread_mutex_init(&p->lock, NULL);
	for (int i = 0; i < n_workers; i++)
		pthread_mutex_init(&p->slots[i].watch.lock, NULL);
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->running = pthread_create(&p->tid, NULL, progress_main, p) == 0;
	return p;
}

void progress_worker(struct progress *p, int slot)
{
	cap_watch_thread(p && slot < p->n_slots ? &p->slots[slot].watch : NULL);
}

void progress_begin(struct progress *p, int slot, const char *path, long long size)
{
	if (!p || slot >= p->n_slots)
		return;
	pthread_mutex_lock(&p->lock);
	p->slots[slot].path = path;
	p->slots[slot].size = size;
	clock_gettime(CLOCK_MONOTONIC, &p->slots[slot].started);
	pthread_mutex_unlock(&p->lock);
}

void progress_end(struct progress *p, int slot, int done)
{
	if (!p || slot >= p->n_slots)
		return;
	pthread_mutex_lock(&p->lock);
	p->slots[slot].path = NULL;
	p->finished_bytes += (uint64_t)(p->slots[slot].size > 0 ? p->slots[slot].size : 0);
	p->done = done;
	pthread_mutex_unlock(&p->lock);
}

void progress_phase(struct progress *p, const char *what)
{
	if (!p)
		return;
	pthread_mutex_lock(p->print_lock);
	pthread_mutex_lock(&p->lock);
	p->line = false;
	p->phase = what;
	progress_clear(p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(p->print_lock);
}

void progress_clear(struct progress *p)
{
	if (p && p->shown) {
		fprintf(stderr, "\r\033[K");
		p->shown = false;
	}
}

void progress_stop(struct progress *p)
{
	if (!p)
		return;
	p->stop = true;
	if (p->running) {
		pthread_kill(p->tid, SIGUSR1); /* wakes sigtimedwait at once */
		pthread_join(p->tid, NULL);
	}
	pthread_mutex_lock(p->print_lock);
	progress_clear(p);
	pthread_mutex_unlock(p->print_lock);
	for (int i = 0; i < p->n_slots; i++)
		pthread_mutex_destroy(&p->slots[i].watch.lock);
	pthread_mutex_destroy(&p->lock);
	free(p->slots);
	free(p);
}
