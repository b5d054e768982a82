/* dist_int.h — the worker-process backend's own structures, shared by
 * dist_server.c (start, stop, the thread, sending), dist_session.c (the
 * conversation with one worker) and dist_sched.c (dispatch, scaling,
 * describe).  Private to exec/dist/.
 *
 * Locks: b->mu guards the worker records, their slots and outboxes; it is
 * below coord->lock (backend.h) and never held while env->done, pull,
 * pending or adopt is called, nor while a launcher runs.  b->ev->mu
 * guards the queue of pipe events filled by nng's callback; it is a
 * leaf. */
#ifndef ANAFS_DIST_INT_H
#define ANAFS_DIST_INT_H

#include "dist.h"
#include "launch.h"
#include "wire.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DIST_MAX_PEERS 4096      /* connections at once, authenticated or not */
#define DIST_EVQ 4096            /* pipe events waiting for the thread */
#define DIST_AUTH_SECS 5.0       /* from connection to AUTH */
#define DIST_BURST 3             /* messages to one pipe per DIST_BURST_SECS */
#define DIST_BURST_SECS 0.005
#define DIST_MAX_OUTBOX 4096     /* messages waiting for one worker */
#define DIST_LOG_PEER 3          /* refusal lines per connection, then a count */
#define DIST_LOG_WINDOW 10.0     /* refusal lines at most DIST_LOG_BURST per window */
#define DIST_LOG_BURST 20

enum wk_state {
	WK_HELLO,                /* connected, HELLO not yet come */
	WK_AUTH,                 /* CHALLENGE sent, waiting for AUTH */
	WK_READY,                /* authenticated: signed frames only */
	WK_LEAVING,              /* BYE sent or received */
};

struct wslot {
	struct btask *t;         /* NULL: free */
	int64_t events;          /* reported so far for this try */
	uint64_t bytes;
	double sent;             /* when the TASK was queued */
	bool seen;               /* the worker showed it has it (PROGRESS) */
	bool cancel_sent;
};

struct omsg {
	nng_msg *m;
	struct omsg *next;
};

struct wk {
	struct wk *next;
	nng_pipe pipe;
	uint32_t id;             /* 0 until authenticated */
	enum wk_state state;
	bool closed;             /* we closed the pipe: drop what still comes */
	char addr[160];          /* the peer, for the log */
	struct wire_hello hello; /* its fields made printable */
	uint8_t cnonce[WIRE_NONCE];
	uint8_t expect[WIRE_MAC];  /* the proof its AUTH must carry */
	struct wire_session sess;
	double t_open, t_heard, t_idle, t_closed;
	bool owned;              /* the launcher started it */
	bool manual;             /* started by hand: never told BYE for being foreign */
	bool reserved;           /* its slots are counted in b->reserved */
	int slots;
	struct wslot *slot;
	int nbusy;               /* slots taken */
	int nwarm;               /* WARMs sent and not answered */
	uint32_t busy_reported;  /* the last PROGRESS's busy */
	int64_t last_job;        /* the job of its last task (prefer it again) */
	int64_t tasks_done, events_done;
	int64_t ev_mark;
	double t_mark, rate;
	int refusals;            /* lines logged for this connection */
	int64_t dropped;         /* frames dropped unlogged */
	struct omsg *out, *out_tail;
	int nout;
	int burst;               /* messages sent since t_burst */
	double t_burst;
	double t_blocked;        /* since when its sends fail (0: they do not) */
};

struct pipe_ev {
	uint32_t pipe;
	bool add;
};

/* The pipe events nng's callback queues for the thread.  Allocated apart
 * from the backend: when nng_close() does not return (nng 1.5.2 can hang
 * there), the backend is freed and this is left to the callbacks. */
struct evbox {
	pthread_mutex_t mu;      /* a leaf */
	struct pipe_ev q[DIST_EVQ];
	size_t head, n;
	bool overflow;
};

#define DIST_PLACE_SLOTS 4096

struct backend {
	struct backend_env env;
	const struct dist_conf *conf;
	char host[256];
	pthread_mutex_t mu;
	nng_socket sock;
	bool sock_open;
	nng_listener lipc, ltcp;
	bool lipc_on, ltcp_on;
	char url_ipc[4200], url_tcp[512], sock_path[4200];
	uint8_t secret[WIRE_SECRET];
	char secret_path[4200];
	char anafs[4096];
	uint64_t instance;
	const struct launch_ops *lops;
	struct launcher *launcher;
	struct launch_env lenv;
	char *launch_text;       /* the launcher's describe, refreshed each tick */
	pthread_t tid;
	bool started;
	atomic_bool stopping;
	struct evbox *ev;        /* nng's callback's own: see dist_server.c */
	struct wk *workers;      /* under mu */
	int npeers;
	uint32_t next_id;
	int want_local;          /* `scale N` for local processes; -1: conf */
	int max_override;        /* `scale N` for pilots; -1: conf */
	/* Tasks to give back through done, their rc set: those of lost
	 * workers and those no TASK could carry.  Room is reserved ahead (a
	 * worker's slots when it is let in, one per dispatch), so that moving
	 * a task here never fails. */
	struct btask **ret;
	size_t nret, capret, reserved;
	double t0, t_tick;
	/* The listeners' watchdog (dist_probe.c): the backend's thread only,
	 * but probe_port, set by nng's callback. */
	int probe_fd;            /* -1: none */
	size_t probe_sent, probe_got;
	bool probe_open, probe_seen;
	int probe_which, probe_next; /* 0 ipc, 1 tcp */
	double probe_t, probe_last;
	atomic_int probe_port;
	double log_window;       /* refusal lines: this window's start and count */
	int log_count;
	int64_t log_suppressed;
	/* Where each file's data was last read: a hash of its URL to a hash of
	 * the node that ran a task of it (that node's disk cache holds it),
	 * for placement (dist_sched.c); under mu. */
	struct dist_place {
		uint64_t file, node;
	} place[DIST_PLACE_SLOTS];
};

/* ---- dist_server.c ---- */
double dist_now(void);
/* A line for the daemon's log (printf-style). */
void dist_log(struct backend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Encode m for w (signed once w is ready) and queue it; sent at the next
 * flush.  0, or the encoder's error (nothing queued). Under mu. */
int dist_queue(struct backend *b, struct wk *w, const struct wire_msg *m);
/* Send what w's outbox holds, within its burst.  Under mu. */
void dist_flush(struct backend *b, struct wk *w);
/* Make room for n more tasks in b->ret: 0 or -ENOMEM.  Under mu. */
int dist_reserve(struct backend *b, size_t n);
/* Give back through done what b->ret holds.  Called without mu. */
void dist_drain(struct backend *b);
/* Close w's pipe and mark it closed (its messages dropped from here).
 * Under mu. */
void dist_close(struct backend *b, struct wk *w);
/* Log a refused peer (rate-limited per connection and overall) and close
 * its pipe.  Under mu. */
void dist_refuse(struct backend *b, struct wk *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same line, rate-limited alike, without closing anything. */
void dist_note(struct backend *b, struct wk *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Listen on ipc://STATE/workers.sock, on the tcp address (again: the
 * URL pilots were given).  0 or a negative errno (logged). */
int dist_listen_ipc(struct backend *b);
int dist_listen_tcp(struct backend *b);

/* ---- dist_probe.c: the listeners' watchdog ---- */
/* Every pass of the thread: probe a listener now and then, listen again
 * when one has stopped taking connections.  Called without mu. */
void dist_probe_tick(struct backend *b);
/* Whether new connection p is the probe's (it then gets no record).
 * Under mu. */
bool dist_probe_claims(struct backend *b, nng_pipe p);
void dist_probe_stop(struct backend *b);

/* ---- dist_session.c ---- */
/* A new connection: its record.  Under mu. */
struct wk *dist_peer_add(struct backend *b, nng_pipe p);
struct wk *dist_peer_find(struct backend *b, uint32_t pipe);
/* The authenticated worker of that id, or NULL.  Under mu. */
struct wk *dist_worker_find(struct backend *b, uint32_t id);
/* Handle one frame from nng (taken).  Called without mu: it takes it, and
 * calls done, pull and adopt without it. */
void dist_on_msg(struct backend *b, nng_msg *m);
/* w lost: every task on it moved to b->ret with ANA_ELOST and msg
 * "worker N (HOST pid P) WHY", its pipe closed; the record stays, closed,
 * until nng reports the pipe gone.  Under mu. */
void dist_peer_lose(struct backend *b, struct wk *w, const char *why);
/* Free w's record (unlinked by the caller).  Under mu. */
void dist_peer_free(struct backend *b, struct wk *w);
/* Whether tasks may be given to w. */
bool dist_usable(const struct backend *b, const struct wk *w);
/* Hand t to w (a free slot checked): 0, or the encoder's error. Under mu. */
int dist_assign(struct backend *b, struct wk *w, struct btask *t);
/* The TASK (or WARM: type) of task idx of plan p, try attempt, into *m:
 * its strings borrowed from p.  0, or -EINVAL past the wire's bounds. */
int dist_task_msg(unsigned type, int64_t job, size_t idx, uint32_t attempt, uint64_t digest,
		  struct plan *p, struct wire_msg *m);

/* ---- dist_sched.c ---- */
/* Once a second from the thread: rates, scaling, BYE to the idle above
 * what is wanted, the launcher's tick.  Called without mu. */
void dist_tick(struct backend *b);
/* Every pass of the thread: stop flags (CANCEL), handshake deadlines,
 * leases, tasks a worker never took, closed peers, outboxes.  Called
 * without mu; gives lost tasks back itself. */
void dist_housekeep(struct backend *b);

/* The ops of backend.h (backend_workers). */
int dist_dispatch(struct backend *b, struct btask *t);
int dist_poll(struct backend *b);
void dist_describe(struct backend *b, struct strbuf *out);
int dist_control(struct backend *b, const char *cmd, size_t len, char *msg, size_t cap);
int dist_live(struct backend *b);
int dist_warm(struct backend *b, const struct bwarm *bw);

#endif
