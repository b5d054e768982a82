/* wire.h — the messages between the coordinator and its worker processes,
 * and how a worker proves it may take part.
 *
 * Transport is the caller's (nng pair1: the coordinator's socket is
 * polyamorous, each worker connection one pipe); this library turns
 * messages into bytes and back, and does the authentication.
 *
 * Frame (all integers little-endian):
 *   "ANFW" | version u16 | type u16 | seq u64 | payload length u32 |
 *   payload | mac[32]
 * The payload's layout is per type (wire_codec.c).  Every field is bounded
 * (the WIRE_MAX_* below) and checked at decoding; a frame whose length,
 * version, type, field or trailing bytes are wrong is refused whole.
 * Besides the sizes, both sides refuse: a hello whose name is empty, or
 * whose name, host, backend or pilot holds a control character, pid < 1,
 * slots outside 1..WIRE_MAX_SLOTS; a welcome of lease_ms or progress_ms
 * 0; a key of job < 0; a task whose url is empty or whose entries are not
 * 0 <= first <= last <= entries; a negative events count; a result of rc
 * > 0, or of rc < 0 with a blob; a NUL byte inside any string or text.
 *
 * Authentication.  Both sides hold a 32-byte secret (the state folder's
 * `secret`, mode 0600).  The worker opens with HELLO (its nonce); the
 * coordinator answers CHALLENGE (its nonce); the worker sends AUTH, an
 * HMAC-SHA256 under the secret of both nonces and the hello's fields; the
 * coordinator checks it and answers WELCOME with its own proof, which the
 * worker checks (a worker gives nothing to a coordinator that cannot prove
 * it holds the secret either).  Those four travel unsigned (seq 0, mac
 * zero).  Every later message of the session is signed: mac is
 * HMAC-SHA256 over header and payload under a key for its direction,
 * derived from the secret and both nonces, and seq goes up by one per
 * message in each direction: a message from another session, altered,
 * reflected back or replayed fails the check.  OpenSSL's libcrypto does
 * the hashing, the random bytes and the constant-time compare.
 *
 * Thread safety: the functions are reentrant; one wire_session belongs to
 * one connection and its caller serializes its use. */
#ifndef ANAFS_WIRE_H
#define ANAFS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 2          /* 2: WARM, WARMED; RESULT's cache figures */
#define WIRE_MAX_MSG (512u << 20)  /* a whole frame, either way */
#define WIRE_MAX_TEXT (1u << 20)   /* a query's text (the store's limit) */
#define WIRE_MAX_PATH 4096         /* a file's URL, a base folder */
#define WIRE_MAX_NAME 64           /* names, hosts, backends, pilot ids */
#define WIRE_MAX_WHY 1024          /* an error's text */
#define WIRE_MAX_PROGRESS 64       /* tasks in one PROGRESS */
#define WIRE_MAX_SLOTS 256         /* tasks one worker runs at once */
#define WIRE_NONCE 32
#define WIRE_MAC 32
#define WIRE_SECRET 32

enum wire_type {
	WIRE_HELLO = 1,   /* W->C: worker nonce and who it is */
	WIRE_CHALLENGE,   /* C->W: coordinator nonce */
	WIRE_AUTH,        /* W->C: proof */
	WIRE_WELCOME,     /* C->W: proof, the worker's id, lease and progress period */
	WIRE_TASK,        /* C->W: run this */
	WIRE_PROGRESS,    /* W->C: heartbeat, with counts of the tasks running */
	WIRE_RESULT,      /* W->C: a task's outcome (result, or error) */
	WIRE_ACK,         /* C->W: the result of key is taken or dropped: forget it */
	WIRE_CANCEL,      /* C->W: abandon key (its result is not wanted) */
	WIRE_GIVEBACK,    /* W->C: key handed back unfinished (the worker is ending) */
	WIRE_BYE,         /* either: the session ends on purpose; C->W: exit once idle */
	WIRE_WARM,        /* C->W: fetch this task's data into the node's cache, do not run it */
	WIRE_WARMED,      /* W->C: a WARM's outcome (bytes fetched, or the error) */
	WIRE_TYPE_END
};

/* "hello", "challenge", ...; "?" for anything else. */
const char *wire_type_name(unsigned type);

/* Which task, which try of it.  digest is plan_task_digest(): what the
 * task is (query, file identity, entries), so that a result is taken only
 * for the very task it was computed for, also by a restarted coordinator. */
struct wire_key {
	int64_t job;
	uint32_t idx;
	uint32_t attempt;
	uint64_t digest;
};

struct wire_hello {
	uint8_t nonce[WIRE_NONCE];
	char name[WIRE_MAX_NAME];    /* the worker's own name ("w-4711") */
	char host[WIRE_MAX_NAME];
	int32_t pid;
	char backend[WIRE_MAX_NAME]; /* "local", "slurm", "htcondor", "manual" */
	char pilot[WIRE_MAX_NAME];   /* the batch job's id, the launcher's tag, or "" */
	uint16_t slots;              /* tasks at once, 1..WIRE_MAX_SLOTS */
};

struct wire_challenge {
	uint8_t nonce[WIRE_NONCE];
	uint64_t instance;           /* the coordinator's run (new at each start) */
};

struct wire_auth {
	uint8_t proof[WIRE_MAC];
};

struct wire_welcome {
	uint8_t proof[WIRE_MAC];
	uint32_t worker_id;
	uint32_t lease_ms;           /* silence longer than this loses the worker its tasks */
	uint32_t progress_ms;        /* send PROGRESS at least this often */
};

/* Pointers into the decoded frame (or the caller's, when encoding). */
struct wire_task {
	struct wire_key key;
	const char *text;            /* the query, text_len bytes, not NUL-terminated */
	uint32_t text_len;
	const char *basedir;         /* NUL-terminated */
	const char *url;             /* the file, NUL-terminated */
	const char *tree;            /* NUL-terminated ("" when not recorded) */
	int64_t entries;
	uint64_t size;
	int64_t mtime_ns;
	uint64_t fingerprint;
	int64_t first, last;         /* entries [first, last) */
};

struct wire_progress_task {
	struct wire_key key;
	int64_t events;              /* done so far in this try */
	uint64_t bytes;              /* compressed bytes read so far */
};

struct wire_progress {
	uint32_t n;                  /* 0..WIRE_MAX_PROGRESS */
	uint32_t busy;               /* slots in use (may exceed n: tasks not started) */
	struct wire_progress_task t[WIRE_MAX_PROGRESS];
};

/* What the worker's disk cache did for one task's reads (src_tally()). */
struct wire_cache {
	uint64_t hits, misses;       /* block reads served by the cache / fetched */
	uint64_t bytes_hit, bytes_fetched;
	uint64_t bytes_prefetched;   /* of blocks prefetched ahead, used by the reads */
};
struct wire_result {
	struct wire_key key;
	int32_t rc;                  /* 0, or a negative code (ana_err.h) */
	char why[WIRE_MAX_WHY];      /* rc < 0: file, entries, reason */
	int64_t events;
	uint64_t bytes;
	struct wire_cache cache;
	/* rc == 0: the result codec's bytes (result_encode()).  They travel
	 * lz4-compressed; decoding gives them back whole (the frame's buffer
	 * holds them: wire_msg_free()). */
	const void *blob;
	size_t blob_len;
};

/* The answer to a WARM (the task's key): not acknowledged, not kept
 * across a lost connection. */
struct wire_warmed {
	struct wire_key key;
	int32_t rc;                  /* 0, or a negative code */
	uint64_t bytes;              /* fetched into the cache */
	uint32_t ms;                 /* how long it took */
	char why[WIRE_MAX_WHY];      /* rc < 0: file and reason */
};
struct wire_bye {
	uint32_t code;               /* 0: done; else a reason */
	char why[256];
};

struct wire_msg {
	uint16_t type;               /* enum wire_type */
	uint64_t seq;                /* set by wire_encode/wire_decode */
	union {
		struct wire_hello hello;
		struct wire_challenge challenge;
		struct wire_auth auth;
		struct wire_welcome welcome;
		struct wire_task task;   /* TASK, WARM */
		struct wire_progress progress;
		struct wire_result result;
		struct wire_key key;     /* ACK, CANCEL, GIVEBACK */
		struct wire_bye bye;
		struct wire_warmed warmed;
	} u;
	void *owned;                 /* decoding's buffer (decompressed blob) */
};

/* One connection's signing state. */
struct wire_session {
	uint8_t send_key[WIRE_MAC], recv_key[WIRE_MAC];
	uint64_t send_seq;           /* the last sent */
	uint64_t recv_seq;           /* the last accepted */
	bool ready;                  /* keys set: only signed messages pass */
};

/* Encode m into *out (new, malloc; *len bytes).  With s ready the frame is
 * signed with the next seq (m is const: m->seq is ignored, the frame's
 * seq is s->send_seq afterwards); the four opening types are
 * encoded unsigned whatever s (s may be NULL for them).  Result blobs are
 * lz4-compressed.  Returns 0, -EINVAL for a field out of its bounds (or a
 * signed type without a ready session), -EFBIG past WIRE_MAX_MSG,
 * -ENOMEM. */
int wire_encode(struct wire_session *s, const struct wire_msg *m, void **out, size_t *len);

/* Decode buf (len bytes) into *m.  With s ready, only signed types pass,
 * their mac must verify and their seq must be the next one; with s not
 * ready (or NULL), only the four opening types pass.  Returns 0 (then
 * wire_msg_free(m)), or, with why (cap bytes) saying what was wrong and
 * *m left empty:
 *   -EPROTO   not a frame of this protocol or version, or a type not
 *             allowed now
 *   -EBADMSG  a field out of bounds, a length that does not add up,
 *             trailing bytes, a blob that does not decompress to its
 *             length
 *   -EACCES   the mac does not verify
 *   -EALREADY the seq is not the next (replayed, reordered, dropped)
 *   -ENOMEM */
int wire_decode(struct wire_session *s, const void *buf, size_t len, struct wire_msg *m,
		char *why, size_t cap);
void wire_msg_free(struct wire_msg *m);

/* ---- authentication ---- */

/* The secret at path: read, or with create made (random, mode 0600, the
 * folder must exist) when there is none.  Refused (-EPERM, msg says why)
 * when the file is readable or writable by group or others, or not owned
 * by us; -EBADMSG when it is not WIRE_SECRET bytes.  0 or a negative
 * errno with msg (cap bytes). */
int wire_secret_load(const char *path, bool create, uint8_t secret[WIRE_SECRET], char *msg,
		     size_t cap);
/* From 64 hex digits (the ANAFS_SECRET variable of a pilot's script): 0
 * or -EINVAL. */
int wire_secret_parse(const char *hex, uint8_t secret[WIRE_SECRET]);
void wire_secret_hex(const uint8_t secret[WIRE_SECRET], char out[2 * WIRE_SECRET + 1]);

/* n random bytes from libcrypto's generator: 0 or -EIO. */
int wire_random(void *buf, size_t n);

/* The worker's proof: over both nonces and h's fields. */
void wire_proof_worker(const uint8_t secret[WIRE_SECRET], const struct wire_hello *h,
		       const uint8_t coord_nonce[WIRE_NONCE], uint8_t out[WIRE_MAC]);
/* The coordinator's proof: over both nonces, the other way round. */
void wire_proof_coord(const uint8_t secret[WIRE_SECRET], const uint8_t worker_nonce[WIRE_NONCE],
		      const uint8_t coord_nonce[WIRE_NONCE], uint8_t out[WIRE_MAC]);
/* Constant-time equality of two proofs. */
bool wire_proof_equal(const uint8_t a[WIRE_MAC], const uint8_t b[WIRE_MAC]);

/* Make s ready for the session of these nonces, for the coordinator's
 * side (coordinator true) or the worker's. */
void wire_session_init(struct wire_session *s, const uint8_t secret[WIRE_SECRET],
		       const uint8_t coord_nonce[WIRE_NONCE],
		       const uint8_t worker_nonce[WIRE_NONCE], bool coordinator);

#endif
