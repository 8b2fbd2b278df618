/* report.c - report_write(): picks the writer; report_write_path(): temp file, fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/report_int.h"

int report_write(sqlite3 *db, const struct report_options *opt, FILE *out, char *errbuf)
{
	int rc;
	if (kb_check(errbuf, REPORT_ERRBUF_SIZE) < 0)
		return -1;
	if (rep_sql_register(db, errbuf) < 0 || rep_select(db, opt->filter, errbuf) < 0) {
		rep_select_drop(db);
		return -1;
	}
	switch (opt->format) {
	case REPORT_TEXT:
		rc = report_text(db, opt, out, errbuf);
		break;
	case REPORT_HTML:
		rc = report_html(db, opt, out, errbuf);
		break;
	case REPORT_JSON:
		rc = report_json(db, opt, out, errbuf);
		break;
	case REPORT_CSV:
		rc = report_csv(db, opt, out, errbuf);
		break;
	default:
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "unknown report format %d", (int)opt->format);
		rc = -1;
	}
	rep_select_drop(db);
	if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "writing the report: %s", strerror(errno));
		return -1;
	}
	return rc;
}

/* Makes the directory entry of a renamed file durable; failure here is not fatal. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Creates "<dir of path>/.<name>.XXXXXX" with the permissions a new file would get. */
static int make_temp(const char *path, char **tmp, char *errbuf)
{
	char *copy = strdup(path), *copy2 = strdup(path);
	size_t len = strlen(path) + 16;
	*tmp = malloc(len);
	int fd = -1;
	if (copy && copy2 && *tmp) {
		snprintf(*tmp, len, "%s/.%s.XXXXXX", dirname(copy), basename(copy2));
		fd = mkstemp(*tmp);
	}
	if (fd < 0)
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "creating a temporary file beside %s: %s",
			 path, strerror(errno ? errno : ENOMEM));
	else {
		mode_t mask = umask(0);
		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	free(copy);
	free(copy2);
	return fd;
}

/* A device, FIFO or socket (/dev/null, /dev/stdout, a pipe) is written as it is: renaming a
 * temporary file over it would replace the device with a regular file. */
static int write_in_place(sqlite3 *db, const struct report_options *opt, const char *path,
			  char *errbuf)
{
	FILE *out = fopen(path, "w");
	if (!out) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "opening %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = report_write(db, opt, out, errbuf);
	if (fclose(out) != 0 && rc == 0) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "writing %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

int report_write_path(sqlite3 *db, const struct report_options *opt, const char *path, char *errbuf)
{
	if (!path || strcmp(path, "-") == 0)
		return report_write(db, opt, stdout, errbuf);
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
		return write_in_place(db, opt, path, errbuf);
	char *tmp = NULL;
	int fd = make_temp(path, &tmp, errbuf);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	FILE *out = fdopen(fd, "w");
	int rc = out ? report_write(db, opt, out, errbuf) : -1;
	if (!out) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "opening %s: %s", tmp, strerror(errno));
		close(fd);
	} else if (rc == 0 && (fflush(out) != 0 || fsync(fd) != 0)) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "writing %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (out && fclose(out) != 0 && rc == 0) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "closing %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		snprintf(errbuf, REPORT_ERRBUF_SIZE, "renaming %s to %s: %s", tmp, path,
			 strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	else
		sync_dir(path);
	free(tmp);
	return rc;
}
