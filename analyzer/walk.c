/* walk.c - expands CAPTURE arguments: files and "-" kept, directories walked recursively in
 * byte order of their names, symbolic links to directories not followed. */
#include "analyzer/capture.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WALK_MAX_DEPTH 32 /* directories below an argument; deeper ones are reported */

struct walk {
	cap_walk_fn fn;
	void *arg;
};

static void walk_dir(const struct walk *w, const char *dir, int depth);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b); /* bytewise: unsigned char */
}

static void report_errno(const struct walk *w, const char *path, const char *what, int err)
{
	char msg[128], text[192];

	snprintf(text, sizeof text, "%s: %s", what, strerror_r(err, msg, sizeof msg));
	w->fn(path, text, w->arg);
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

/* False for a file found in a directory that cannot be a capture: its first bytes are none of
 * the magic numbers cap_open() knows (README, notes, checksums beside rotated captures).
 * Short and unreadable files are kept, so cap_open() names what is wrong with them. */
static bool looks_like_capture(const char *path)
{
	static const uint8_t MAGIC[][4] = {
	    {0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},
	    {0x4d, 0x3c, 0xb2, 0xa1}, {0x0a, 0x0d, 0x0d, 0x0a}, {0x28, 0xb5, 0x2f, 0xfd},
	    {0xa1, 0xb2, 0xcd, 0x34}, {0x34, 0xcd, 0xb2, 0xa1}, /* patched libpcap's */
	};
	uint8_t head[4];
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return true;
	size_t n = fread(head, 1, sizeof head, f);
	fclose(f);
	if (n < sizeof head || (head[0] == 0x1f && head[1] == 0x8b))
		return true;
	for (size_t i = 0; i < sizeof MAGIC / sizeof MAGIC[0]; i++)
		if (memcmp(head, MAGIC[i], sizeof head) == 0)
			return true;
	return false;
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
		if (looks_like_capture(path))
			w->fn(path, NULL, w->arg);
	} else if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) < 0)
			report_errno(w, path, "broken symbolic link", errno);
		else if (S_ISREG(st.st_mode) && looks_like_capture(path))
			w->fn(path, NULL, w->arg); /* links to directories are not followed */
	}
	/* Sockets, FIFOs and devices inside a directory are not captures: skipped. */
}

static void walk_dir(const struct walk *w, const char *dir, int depth)
{
	size_t n = 0, dir_len = strlen(dir);
	char **names;

	if (depth > WALK_MAX_DEPTH) {
		w->fn(dir, "directory nested too deep (more than 32 levels): not entered", w->arg);
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
			w->fn(dir, "out of memory", w->arg);
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

void cap_walk(const char *const *args, int n_args, cap_walk_fn fn, void *arg)
{
	const struct walk w = {fn, arg};
	struct stat st;

	for (int i = 0; i < n_args; i++) {
		/* A directory named on the command line is entered even through a symbolic
		 * link (as find -H does); anything else is left to cap_open() to judge. */
		if (strcmp(args[i], "-") != 0 && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode))
			walk_dir(&w, args[i], 0);
		else
			fn(args[i], NULL, arg);
	}
}
