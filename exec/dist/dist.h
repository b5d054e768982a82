/* dist.h — the worker-process backend: the coordinator's side of the
 * conversation with `anafs worker` processes over nng, and its
 * configuration.
 *
 * The backend listens on ipc (STATE/workers.sock) for workers of this
 * machine and, when a batch launcher is configured, on tcp too.  A worker
 * connects, proves it holds the state folder's secret (wire.h), and is
 * then handed tasks (one per free slot), streams progress (its
 * heartbeat), and gives back results, which are acknowledged.  A worker
 * silent past its lease loses its tasks (ANA_ELOST: run again
 * elsewhere); a result for no task in flight is offered to env->adopt; an
 * unauthenticated or misbehaving peer is logged with its address and
 * dropped.  Workers are started by a launcher (launch.h): local
 * processes, Slurm or HTCondor pilots, scaled between a floor and a
 * ceiling with the tasks waiting.
 *
 * Thread safety: as backend.h. */
#ifndef ANAFS_DIST_H
#define ANAFS_DIST_H

#include "backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The configuration: STATE/workers.conf, then the mount's options.  Every
 * key, its default and meaning is in docs/workers.md; dist_conf_set()
 * refuses what it does not know. */
struct dist_conf {
	/* backend: "local" (default), "slurm", "htcondor", "threads", or
	 * "manual": no launcher, workers started by hand (`anafs worker
	 * --connect`) dial in (ipc, and tcp when listen is set).  (Added by
	 * the server with its first version.) */
	char backend[16];
	int workers;             /* workers: local processes (0: the cores) */
	int slots;               /* slots: tasks one worker runs at once (1) */
	int min_workers;         /* min_workers: batch floor (0) */
	int max_workers;         /* max_workers: batch ceiling (10) */
	double idle_timeout;     /* idle_timeout: seconds a pilot idles above the floor (60) */
	double lease;            /* lease: seconds of silence that lose a worker its tasks (10) */
	double progress;         /* progress: seconds between a worker's reports (0.5) */
	int retries;             /* retries: tries of a failing task past the first (2) */
	double retry_backoff;    /* retry_backoff: seconds before the first retry, doubled after (1) */
	int restart_burst;       /* restart_burst: local restarts allowed per minute (10) */
	double linger;           /* linger: seconds a worker waits for a lost coordinator (60) */
	char listen[256];        /* listen: tcp URL for pilots ("tcp://HOST:0": any free port) */
	char slurm_partition[64], slurm_time[32], slurm_mem[32], slurm_account[64];
	char slurm_extra[512];   /* slurm.partition, .time ("01:00:00"), .mem ("2G"), .account, .extra */
	char condor_memory[32], condor_extra[512]; /* htcondor.request_memory ("2GB"), .extra */
	int condor_cpus;         /* htcondor.request_cpus (1) */
	char tools[256];         /* tools: a folder searched first for sbatch, squeue, scancel,
				    condor_submit, condor_q, condor_rm ("") */
};

/* Defaults that work on one machine: local processes, one per core. */
void dist_conf_defaults(struct dist_conf *c);

/* Read path (key = value lines, # comments) over *c.  A missing file is
 * no error (defaults stand).  0, or -EINVAL with msg naming the file, the
 * line and what is wrong (an unknown key, a value out of range), or the
 * errno of reading it. */
int dist_conf_load(const char *path, struct dist_conf *c, char *msg, size_t cap);

/* Set one key ("backend", "slurm.partition", ...): 0 or -EINVAL with msg. */
int dist_conf_set(struct dist_conf *c, const char *key, const char *value, char *msg,
		  size_t cap);

/* Worker processes, launched as c->backend says; env->conf must point to
 * a struct dist_conf that outlives the backend, env->statedir to the
 * state folder (its `secret` is made at the first start). */
extern const struct backend_ops backend_workers;

/* The socket local workers dial: ipc://STATE/workers.sock (cap bytes). */
void dist_ipc_url(const char *statedir, char *out, size_t cap);

#endif
