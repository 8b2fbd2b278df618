/* stream_pipe.c - decompression on a thread of its own: it decodes a compressed capture into
 * a ring of chunks that stream_read() hands out, so the packet loop and the decompressor run
 * on two cores. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/stream_int.h"

/* The bound: 4 MiB of decompressed bytes ahead of the reader, in chunks small enough that
 * the reader starts soon: with 1 MiB chunks, a small rotated file (1.3 MB inflated) was
 * mostly inflated before its first packet was read, and the two threads took turns. */
#define CHUNK_SIZE (256 * 1024)
#define N_CHUNKS 16
/* A side that has to wait sleeps until a batch is there, not one chunk: the decoder, finding
 * the ring full, until half of it is free again; the reader, finding it empty, until a
 * quarter of it is full (or the decoder ended). Each wake is a system call or two, once a
 * chunk before (8,192 of them for 2 GiB). */
#define REFILL_AT (N_CHUNKS / 2)
#define DRAIN_AT (N_CHUNKS / 4)

enum chunk_end { CH_MORE = 0, CH_END = 1, CH_ERROR = -1 };

struct chunk {
	uint8_t *buf;
	size_t len;
	enum chunk_end end; /* CH_END / CH_ERROR: the last chunk the decoder fills */
};

struct stream_pipe {
	pthread_t tid;
	bool running; /* the thread exists and was not joined yet */
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct chunk ring[N_CHUNKS];
	unsigned head, tail, n_full; /* head: next the decoder fills; tail: next the reader takes */
	bool stop, ended;	     /* ended: the decoder filled its last chunk */
	bool decoder_waits, reader_waits; /* asleep on emptied / filled */
	/* the reader's side only */
	struct chunk *cur;
	size_t cur_pos;
	atomic_int *helpers;
	char err[CAP_ERRBUF_SIZE]; /* the decoder's error, once the reader reached it */
};

/* Fills one chunk, as much as it holds, or up to the end or an error. */
static void fill_chunk(struct stream *s, struct chunk *c)
{
	c->len = 0;
	c->end = CH_MORE;
	while (c->len < CHUNK_SIZE) {
		ssize_t k = stream_decode(s, c->buf + c->len, CHUNK_SIZE - c->len);

		if (k <= 0) {
			c->end = k < 0 ? CH_ERROR : CH_END;
			return;
		}
		c->len += (size_t)k;
	}
}

static void *decoder(void *arg)
{
	struct stream *s = arg;
	struct stream_pipe *p = s->pipe;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->n_full == N_CHUNKS)
			while (p->n_full > REFILL_AT && !p->stop) {
				p->decoder_waits = true;
				pthread_cond_wait(&p->emptied, &p->lock);
				p->decoder_waits = false;
			}
		struct chunk *c = p->stop ? NULL : &p->ring[p->head];
		pthread_mutex_unlock(&p->lock);
		if (c == NULL)
			return NULL;
		fill_chunk(s, c); /* the chunk is the decoder's until it is counted full */
		pthread_mutex_lock(&p->lock);
		p->head = (p->head + 1) % N_CHUNKS;
		p->n_full++;
		p->ended = c->end != CH_MORE;
		if (p->reader_waits && (p->n_full >= DRAIN_AT || p->ended))
			pthread_cond_signal(&p->filled);
		pthread_mutex_unlock(&p->lock);
		if (c->end != CH_MORE)
			return NULL;
	}
}

bool stream_take_helper(atomic_int *helpers)
{
	if (helpers == NULL)
		return false;
	int v = atomic_load(helpers);

	while (v > 0)
		if (atomic_compare_exchange_weak(helpers, &v, v - 1))
			return true;
	return false;
}

/* The ring's memory, kept by the reading thread from one compressed capture to the next
 * (589 rotated files allocated and faulted in 4 MiB each); pipe_drop_spare() frees it. */
static _Thread_local uint8_t *spare_ring;

static bool alloc_ring(struct stream_pipe *p)
{
	uint8_t *mem = spare_ring ? spare_ring : malloc((size_t)N_CHUNKS * CHUNK_SIZE);
	spare_ring = NULL;
	if (mem == NULL)
		return false;
	for (int i = 0; i < N_CHUNKS; i++)
		p->ring[i].buf = mem + (size_t)i * CHUNK_SIZE;
	return true;
}

static void free_ring(struct stream_pipe *p)
{
	if (p->ring[0].buf == NULL)
		return;
	if (spare_ring == NULL)
		spare_ring = p->ring[0].buf;
	else
		free(p->ring[0].buf);
}

void stream_drop_spares(void)
{
	free(spare_ring);
	spare_ring = NULL;
}

int pipe_start(struct stream *s, atomic_int *helpers)
{
	struct stream_pipe *p;

	if (!stream_take_helper(helpers))
		return -1;
	p = calloc(1, sizeof *p);
	if (p == NULL)
		goto no_thread;
	if (!alloc_ring(p))
		goto no_thread;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->emptied, NULL);
	p->helpers = helpers;
	s->pipe = p;
	if (pthread_create(&p->tid, NULL, decoder, s) != 0) {
		s->pipe = NULL;
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->filled);
		pthread_cond_destroy(&p->emptied);
		goto no_thread;
	}
	p->running = true;
	return 0;
no_thread:
	if (p != NULL)
		free_ring(p);
	free(p);
	atomic_fetch_add(helpers, 1);
	return -1;
}

/* The reader is done with the current chunk: the decoder may fill it again. */
static void give_back(struct stream_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->tail = (p->tail + 1) % N_CHUNKS;
	p->n_full--;
	if (p->decoder_waits && p->n_full <= REFILL_AT)
		pthread_cond_signal(&p->emptied);
	pthread_mutex_unlock(&p->lock);
	p->cur = NULL;
}

ssize_t pipe_read(struct stream *s, uint8_t *dst, size_t n)
{
	struct stream_pipe *p = s->pipe;

	while (p->cur == NULL || p->cur_pos == p->cur->len) {
		if (p->cur != NULL && p->cur->end != CH_MORE) { /* sticky, as stream_decode() */
			if (p->cur->end == CH_ERROR && p->err[0] == '\0')
				memcpy(p->err, s->err,
				       sizeof p->err); /* written before the chunk */
			return p->cur->end == CH_ERROR ? -1 : 0;
		}
		if (p->cur != NULL)
			give_back(p);
		if (!p->running)
			return -1; /* stopped before the end: nothing more will come */
		pthread_mutex_lock(&p->lock);
		if (p->n_full == 0)
			while (p->n_full < DRAIN_AT && !p->ended) {
				p->reader_waits = true;
				pthread_cond_wait(&p->filled, &p->lock);
				p->reader_waits = false;
			}
		p->cur = &p->ring[p->tail];
		pthread_mutex_unlock(&p->lock);
		p->cur_pos = 0;
	}
	size_t k = p->cur->len - p->cur_pos < n ? p->cur->len - p->cur_pos : n;

	memcpy(dst, p->cur->buf + p->cur_pos, k);
	p->cur_pos += k;
	return (ssize_t)k;
}

const char *pipe_error(const struct stream *s)
{
	return s->pipe->running ? s->pipe->err : s->err;
}

void pipe_stop(struct stream *s)
{
	struct stream_pipe *p = s->pipe;

	if (p == NULL || !p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->emptied);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->tid, NULL);
	p->running = false;
	p->cur = NULL;
	free_ring(p);
	memset(p->ring, 0, sizeof p->ring);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->emptied);
	atomic_fetch_add(p->helpers, 1);
}
