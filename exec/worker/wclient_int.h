/* wclient_int.h — private to the worker process: the tasks it holds and
 * the slot threads that run them (wclient_slots.c), shared with the
 * thread that speaks to the coordinator (wclient.c).
 *
 * A task belongs to the socket thread but between wslots_push() and its
 * return by wslots_take_done(), when a slot thread also reads it and
 * writes its outcome; the fields they share then are the atomics (stop,
 * events, bytes), and the outcome is read only once the task is back. */
#ifndef ANAFS_WCLIENT_INT_H
#define ANAFS_WCLIENT_INT_H

#include "wclient.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wstop {
	WSTOP_NONE,
	WSTOP_CANCEL,   /* the coordinator's CANCEL: the RESULT says -ECANCELED */
	WSTOP_GIVEBACK, /* the worker is ending: a GIVEBACK went instead */
};

struct wtask {
	struct wire_key key;
	/* What the TASK said (copies). */
	char *text;
	uint32_t text_len;
	char *basedir, *url, *tree;
	int64_t entries;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t fingerprint;
	int64_t first, last;
	/* Shared with the slot thread while it runs the task. */
	atomic_int stop;         /* enum wstop */
	atomic_llong events;     /* done so far */
	atomic_ullong bytes;     /* compressed bytes read so far */
	/* The outcome, written by the slot thread before it hands it back. */
	int rc;
	char why[WIRE_MAX_WHY];
	void *blob;              /* rc == 0: result_encode()'s bytes */
	size_t blob_len;
	int64_t done_events;
	uint64_t done_bytes;
	/* The socket thread's alone. */
	bool given_back;         /* a GIVEBACK went for it: drop its outcome */
	uint64_t sent_gen;       /* the session its RESULT last went in (0: none) */
	struct wtask *link;      /* the socket thread's lists (held, unacknowledged) */
	struct wtask *next;      /* the slots' queues */
};

/* A task from a decoded TASK message (its strings copied): new, release
 * with wtask_free(); NULL on ENOMEM. */
struct wtask *wtask_from_msg(const struct wire_task *m);
void wtask_free(struct wtask *t);

/* Whether two keys name the same try of the same task. */
bool wkey_equal(const struct wire_key *a, const struct wire_key *b);

struct wslots;

/* Start o->slots threads.  wake(ctx) is called (no lock of theirs held)
 * each time a task is done.  0 with *out, or a negative errno. */
int wslots_start(const struct wclient_opts *o, void (*wake)(void *ctx), void *ctx,
		 struct wslots **out);

/* Queue t for the next free thread (the caller keeps to its slots). */
void wslots_push(struct wslots *s, struct wtask *t);

/* The tasks done since the last call, in the order they finished (a list
 * through next), or NULL. */
struct wtask *wslots_take_done(struct wslots *s);

/* Drop the plans no task has used for a few seconds (the socket thread
 * calls it about once a second). */
void wslots_sweep(struct wslots *s);

/* Stop the threads (tasks still queued are not run) and wait for them at
 * most wait_s seconds.  true: every thread ended and s is freed (the
 * tasks stay the caller's to free); false: some are still inside a task,
 * and s and those tasks are left to the process's exit. */
bool wslots_stop(struct wslots *s, double wait_s);

/* CLOCK_MONOTONIC in seconds. */
double wclient_now(void);

#endif
