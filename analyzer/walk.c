/* walk.c - expands CAPTURE arguments: files and "-" kept, directories walked recursively in
 * byte order of their names, symbolic links to directories not followed; which files found
 * there are captures, by their magic number (after gzip or zstd decompression). */
#include "analyzer/capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "dissectors/dissect.h"

#define WALK_MAX_DEPTH 32 /* directories below an argument; deeper ones are reported */

struct walk {
	cap_walk_item_fn fn;
	void *arg;
};

static void walk_dir(const struct walk *w, const char *dir, int depth);

static void found(const struct walk *w, const char *path, enum cap_walk_kind kind, const char *err,
		  const struct stat *st)
{
	const struct cap_walk_item it = {path, kind, err, st};
	w->fn(&it, w->arg);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b); /* bytewise: unsigned char */
}

static void report_errno(const struct walk *w, const char *path, const char *what, int err)
{
	char msg[128], text[192];

	snprintf(text, sizeof text, "%s: %s", what, strerror_r(err, msg, sizeof msg));
	found(w, path, CAP_WALK_ERROR, text, NULL);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The entries of dir but . and .., sorted; NULL (errno set) when it cannot be read. */
static char **list_dir(const char *dir, size_t *n_out)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int err = 0;

	if (d == NULL)
		return NULL;
	while ((errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			size_t bigger = cap ? cap * 2 : 64;
			char **grown = realloc(names, bigger * sizeof *names);

			if (grown == NULL)
				goto error;
			names = grown, cap = bigger;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			goto error;
		n++;
	}
	if (errno != 0)
		goto error;
	closedir(d);
	if (n > 1) /* an empty directory leaves names NULL: qsort must not be handed it */
		qsort(names, n, sizeof *names, cmp_names);
	*n_out = n;
	return names != NULL ? names : calloc(1, sizeof *names);
error:
	err = errno ? errno : ENOMEM;
	closedir(d);
	free_names(names, n);
	errno = err;
	return NULL;
}

#define SNIFF_FIRST (16 * 1024) /* bytes read first: enough for a header, or a gzip one's */
#define SNIFF_READ (128 * 1024) /* at most: a zstd block before its first byte comes out */
#define SNIFF_HEAD 4		/* bytes that decide: a magic number */

static bool capture_magic(const uint8_t *head)
{
	static const uint8_t MAGIC[][SNIFF_HEAD] = {
	    {0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
	    {0x4d, 0x3c, 0xb2, 0xa1}, {0x0a, 0x0d, 0x0d, 0x0a}, {0xa1, 0xb2, 0xcd, 0x34},
	    {0x34, 0xcd, 0xb2, 0xa1}, /* patched libpcap's */
	};
	for (size_t i = 0; i < sizeof MAGIC / sizeof MAGIC[0]; i++)
		if (memcmp(head, MAGIC[i], SNIFF_HEAD) == 0)
			return true;
	return false;
}

static void describe_head(const uint8_t *p, size_t n, char *out, size_t out_len)
{
	int used = snprintf(out, out_len, "starts with");
	for (size_t i = 0; i < n && i < SNIFF_HEAD && used > 0 && (size_t)used < out_len; i++)
		used += snprintf(out + used, out_len - (size_t)used, " %02x", p[i]);
}

/* The first SNIFF_HEAD decompressed bytes of gzip data in buf: their count (< SNIFF_HEAD when
 * the data ends or is corrupt first). */
static size_t gunzip_head(const uint8_t *buf, size_t len, uint8_t *head)
{
	z_stream z = {0};
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return 0;
	z.next_in = (Bytef *)buf;
	z.avail_in = (uInt)len;
	z.next_out = head;
	z.avail_out = SNIFF_HEAD;
	while (z.avail_out > 0 && inflate(&z, Z_NO_FLUSH) == Z_OK && z.avail_in > 0)
		;
	size_t got = SNIFF_HEAD - z.avail_out;
	inflateEnd(&z);
	return got;
}

static size_t unzstd_head(const uint8_t *buf, size_t len, uint8_t *head)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer in = {buf, len, 0};
	ZSTD_outBuffer out = {head, SNIFF_HEAD, 0};
	if (d == NULL)
		return 0;
	while (out.pos < out.size && in.pos < in.size) {
		size_t before = in.pos + out.pos;
		if (ZSTD_isError(ZSTD_decompressStream(d, &out, &in)) || in.pos + out.pos == before)
			break;
	}
	ZSTD_freeDCtx(d);
	return out.pos;
}

/* The first SNIFF_HEAD bytes of the data in buf, decompressed when it is gzip or zstd
 * (*inside says which, NULL for neither): their count. */
static size_t head_of(const uint8_t *buf, size_t len, uint8_t *head, const char **inside)
{
	static const uint8_t ZSTD_MAGIC[SNIFF_HEAD] = {0x28, 0xb5, 0x2f, 0xfd};
	*inside = NULL;
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		*inside = "gzip";
		return gunzip_head(buf, len, head);
	}
	if (len >= SNIFF_HEAD && memcmp(buf, ZSTD_MAGIC, SNIFF_HEAD) == 0) {
		*inside = "zstd";
		return unzstd_head(buf, len, head);
	}
	size_t got = len < SNIFF_HEAD ? len : SNIFF_HEAD;
	memcpy(head, buf, got);
	return got;
}

/* Reads the start of fd into buf (SNIFF_READ bytes): SNIFF_FIRST, then up to SNIFF_READ when
 * compressed data has given no bytes yet. The bytes read, or -1 (errno set). */
static ssize_t read_start(int fd, uint8_t *buf, uint8_t *head, size_t *got, const char **inside)
{
	ssize_t len = 0, want = SNIFF_FIRST;
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)(want - len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		len += n;
		if (n > 0 && len < want)
			continue;
		*got = head_of(buf, (size_t)len, head, inside);
		if (n == 0 || !*inside || *got == SNIFF_HEAD || want == SNIFF_READ)
			return len;
		want = SNIFF_READ;
	}
}

enum cap_sniff cap_sniff(const char *path, char *why, size_t why_len)
{
	uint8_t *buf = malloc(SNIFF_READ), head[SNIFF_HEAD];
	const char *inside = NULL;
	char msg[128], what[48];
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd >= 0 && buf ? read_start(fd, buf, head, &got, &inside) : -1;
	int err = buf ? errno : ENOMEM;
	free(buf);
	if (fd >= 0)
		close(fd);
	if (len < 0) {
		snprintf(why, why_len, "cannot %s: %s", fd < 0 ? "open" : "read",
			 strerror_r(err, msg, sizeof msg));
		return CAP_SNIFF_ERROR;
	}
	if (got == SNIFF_HEAD && capture_magic(head))
		return CAP_SNIFF_CAPTURE;
	describe_head(head, got, what, sizeof what);
	if (len == 0)
		snprintf(why, why_len, "empty file");
	else if (!inside && got < SNIFF_HEAD)
		snprintf(why, why_len, "%zu %s, too short for a capture", got,
			 pm_plural((int64_t)got, "byte", "bytes"));
	else if (inside && got < SNIFF_HEAD)
		snprintf(why, why_len, "%s data that does not decompress to a capture header",
			 inside);
	else
		snprintf(why, why_len, "%s%snot a pcap or pcapng capture (%s)",
			 inside ? inside : "", inside ? " data, " : "", what);
	return CAP_SNIFF_NOT_CAPTURE;
}

static void walk_entry(const struct walk *w, const char *path, int depth)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		report_errno(w, path, "cannot stat", errno);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		walk_dir(w, path, depth + 1);
	} else if (S_ISREG(st.st_mode)) {
		found(w, path, CAP_WALK_FOUND, NULL, &st);
	} else if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) < 0)
			report_errno(w, path, "broken symbolic link", errno);
		else if (S_ISREG(st.st_mode)) /* links to directories are not followed */
			found(w, path, CAP_WALK_FOUND, NULL, &st);
	}
	/* Sockets, FIFOs and devices inside a directory are not captures: skipped. */
}

static void walk_dir(const struct walk *w, const char *dir, int depth)
{
	size_t n = 0, dir_len = strlen(dir);
	char **names;

	if (depth > WALK_MAX_DEPTH) {
		found(w, dir, CAP_WALK_ERROR,
		      "directory nested too deep (more than 32 levels): not entered", NULL);
		return;
	}
	names = list_dir(dir, &n);
	if (names == NULL) {
		report_errno(w, dir, "cannot read directory", errno);
		return;
	}
	while (dir_len > 1 && dir[dir_len - 1] == '/')
		dir_len--;
	for (size_t i = 0; i < n; i++) {
		size_t len = dir_len + 1 + strlen(names[i]) + 1;
		char *path = malloc(len);

		if (path == NULL) {
			found(w, dir, CAP_WALK_ERROR, "out of memory", NULL);
			break;
		}
		snprintf(path, len, "%.*s/%s", (int)dir_len, dir, names[i]);
		if (dir_len == 1 && dir[0] == '/')
			snprintf(path, len, "/%s", names[i]);
		walk_entry(w, path, depth);
		free(path);
	}
	free_names(names, n);
}

void cap_walk_items(const char *const *args, int n_args, bool listed, cap_walk_item_fn fn,
		    void *arg)
{
	const struct walk w = {fn, arg};
	struct stat st;

	for (int i = 0; i < n_args; i++) {
		/* A directory named on the command line is entered even through a symbolic
		 * link (as find -H does); anything else is left to cap_open() to judge. */
		bool there = strcmp(args[i], "-") != 0 && stat(args[i], &st) == 0;
		if (there && S_ISDIR(st.st_mode))
			walk_dir(&w, args[i], 0);
		else if (there && listed && S_ISREG(st.st_mode))
			found(&w, args[i], CAP_WALK_FOUND, NULL, &st);
		else
			found(&w, args[i], CAP_WALK_ARG, NULL, there ? &st : NULL);
	}
}

struct plain_walk {
	cap_walk_fn fn;
	void *arg;
};

static void plain_item(const struct cap_walk_item *it, void *arg)
{
	const struct plain_walk *pw = arg;
	char why[CAP_ERRBUF_SIZE];
	if (it->kind == CAP_WALK_FOUND) {
		enum cap_sniff s = cap_sniff(it->path, why, sizeof why);
		if (s != CAP_SNIFF_NOT_CAPTURE)
			pw->fn(it->path, s == CAP_SNIFF_ERROR ? why : NULL, pw->arg);
		return;
	}
	pw->fn(it->path, it->err, pw->arg);
}

void cap_walk(const char *const *args, int n_args, cap_walk_fn fn, void *arg)
{
	struct plain_walk pw = {fn, arg};
	cap_walk_items(args, n_args, false, plain_item, &pw);
}
