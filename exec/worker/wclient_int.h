/* wclient_int.h — private to the worker process: the tasks it holds, the
 * slot threads that run them (wclient_slots.c), and the state of the
 * thread that speaks to the coordinator (wclient.c: the socket and the
 * loop; wclient_conv.c: the messages of the conversation).
 *
 * A task belongs to the socket thread but between wslots_push() and its
 * return by wslots_take_done(), when a slot thread also reads it and
 * writes its outcome; the fields they share then are the atomics (stop,
 * events, bytes), and the outcome is read only once the task is back. */
#ifndef ANAFS_WCLIENT_INT_H
#define ANAFS_WCLIENT_INT_H

#include "wclient.h"

#include <nng/nng.h>
#include <pthread.h>
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
	struct wire_cache cache; /* what the disk cache did for its reads */
	bool warm;               /* a WARM: fetch its data into the cache, run nothing */
	uint64_t warm_bytes;     /* the outcome of a WARM: bytes fetched */
	uint32_t warm_ms;
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

/* Queue WARM t for the warm thread (one, beside the slots: fetching a
 * task's data ahead never takes a slot from a task that runs). */
void wslots_push_warm(struct wslots *s, struct wtask *t);

/* At most this many WARMs queued or running in one worker; beyond, a WARM
 * is answered busy at once. */
#define WC_MAX_WARMS 2

/* The tasks done since the last call, in the order they finished (a list
 * through next), or NULL.  WARMs done come back here too (t->warm). */
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

/* ---- the socket thread (wclient.c, wclient_conv.c) ---- */

#define WC_MAX_EVENTS 64      /* connection events queued between two turns */

enum wstate { ST_DOWN, ST_HELLO, ST_AUTH, ST_READY };

struct pipe_event {
	bool add;
	nng_pipe p;
	uint32_t dialer_closed;  /* a removal before WELCOME: the dialer on_pipe closed (0: none) */
};

struct wc {
	const struct wclient_opts *o;
	char name[WIRE_MAX_NAME];
	nng_socket sock;
	nng_aio *raio, *saio;
	struct wslots *slots;
	nng_dialer dialer;
	bool dialing;            /* false: paused after a failed handshake */
	double redial_at;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu: what the callbacks queue. */
	nng_msg *inbox;
	bool recv_done;          /* the receive completed (inbox, or recv_rv) */
	int recv_rv;
	struct pipe_event ev[WC_MAX_EVENTS];
	int nev;
	uint32_t cb_pipe;        /* the connection the callbacks know as current */
	uint32_t cb_welcomed;    /* the connection whose handshake ended in WELCOME */
	bool kick;               /* a task is done */
	/* The socket thread's. */
	enum wstate st;
	nng_pipe pipe;
	struct wire_hello hello;
	uint8_t coord_nonce[WIRE_NONCE];
	uint64_t instance, instance_next; /* the coordinator's run: welcomed, challenging */
	struct wire_session s;
	uint64_t gen;            /* sessions made ready so far */
	uint32_t worker_id;
	double period;           /* seconds between two PROGRESS */
	double t0, hs_since, last_ready, next_progress, next_sweep, refused_logged;
	int refused;             /* handshakes the coordinator cut since the last WELCOME */
	struct wtask *held;      /* handed to the slots and not back (through link) */
	int nheld;               /* those not given back */
	int nwarm;               /* WARMs with the warm thread */
	struct wtask *results, **results_tail; /* done, awaiting their ACK */
	bool bye;                /* the coordinator said BYE */
	double bye_until;
	bool ending;             /* a signal or the time limit */
	double end_until;
	const char *end_why;
	bool done;
	int exit_code;
};


/* A log line on stderr, "anafs worker NAME: ...", unless quiet. */
void wc_log(const struct wc *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the current connection (nng dials again) and the session. */
void wc_lose(struct wc *w);
/* Encode m (signed once the session is ready) and send it on the current
 * connection.  0; the encoder's error (nothing sent); or -EIO when the
 * connection did not take it (the session is then dropped). */
int wc_send(struct wc *w, const struct wire_msg *m);

/* ACK-like messages of one key (GIVEBACK). */
void wc_send_key(struct wc *w, unsigned type, const struct wire_key *k);
/* HELLO, with a new nonce: the handshake of a new connection. */
void wc_send_hello(struct wc *w);
/* t's RESULT (an error in its place when the encoder refuses it). */
void wc_send_result(struct wc *w, struct wtask *t);
/* WARMED for t (its outcome, or rc and why of a WARM refused). */
void wc_send_warmed(struct wc *w, const struct wtask *t);
/* The heartbeat: the tasks held, with their counts so far. */
void wc_send_progress(struct wc *w);
/* A message from the coordinator (msg is freed). */
void wc_on_msg(struct wc *w, nng_msg *msg);
/* Results awaiting their ACK. */
int wc_count_results(const struct wc *w);

#endif
