/* fuzz_common.h - shared by the fuzz targets: a memory buffer as a capture file path. */
#ifndef PM_FUZZ_COMMON_H
#define PM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* The capture readers open paths: the bytes go into a memfd named by /proc/self/fd/N.
 * Returns the fd (the caller closes it) and the path in `path`, or -1. */
static inline int fuzz_memfd(const uint8_t *data, size_t size, char *path, size_t path_len)
{
	int fd = memfd_create("fuzz-capture", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < size) {
		ssize_t k = write(fd, data + off, size - off);
		if (k <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)k;
	}
	snprintf(path, path_len, "/proc/self/fd/%d", fd);
	return fd;
}

/* Wraps the bytes in gzip (mode 1) or zstd (mode 2) so that the fuzzer's mutations of a
 * plain capture reach the decompressing readers too. Returns a malloc'd buffer or NULL. */
static inline uint8_t *fuzz_compress(const uint8_t *data, size_t size, int mode, size_t *out_len)
{
	uint8_t *out = NULL;
	if (mode == 1) {
		z_stream z = {0};
		if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return NULL;
		size_t cap = deflateBound(&z, size) + 32;
		out = malloc(cap);
		z.next_in = (Bytef *)data, z.avail_in = (uInt)size;
		z.next_out = out, z.avail_out = (uInt)cap;
		int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
		*out_len = cap - z.avail_out;
		deflateEnd(&z);
		if (rc != Z_STREAM_END) {
			free(out);
			return NULL;
		}
		return out;
	}
	size_t cap = ZSTD_compressBound(size);
	out = malloc(cap ? cap : 1);
	size_t n = out ? ZSTD_compress(out, cap, data, size, 1) : 0;
	if (!out || ZSTD_isError(n)) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

#endif
