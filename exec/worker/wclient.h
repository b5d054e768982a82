/* wclient.h — the worker process: `anafs worker --connect URL`.
 *
 * It dials the coordinator (nng pair1; nng redials a lost connection by
 * itself), proves it holds the secret and checks the coordinator's proof
 * (wire.h), then runs the tasks it is handed, up to its slots at once,
 * each with a runner (runner.h) over a plan made from the task's own
 * message: the query, the one file with the identity it was planned with,
 * the entries (plan_resume() of that file alone; the plan is kept for the
 * next task on the same job and file).  It reports progress at least every
 * progress period (its heartbeat, also when idle) and gives back each
 * task's result (the result codec, lz4 on the wire) or its error.
 *
 * A result is kept until the coordinator acknowledges it: when the
 * connection is lost the worker keeps running and keeps its results, and
 * sends them again once it is back (to the same coordinator or a
 * restarted one, which takes them if the task is not yet merged).  It
 * exits when told BYE (once its tasks are given back), when no
 * coordinator is heard for linger seconds, and on SIGTERM or SIGINT or at
 * its time limit: then it hands its running tasks back (GIVEBACK) and
 * says BYE, so a pilot that reaches its batch time limit ends cleanly.
 *
 * Thread safety: one wclient_run() per process (it installs signal
 * handlers). */
#ifndef ANAFS_WCLIENT_H
#define ANAFS_WCLIENT_H

#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

struct wclient_opts {
	const char *url;               /* ipc:///... or tcp://host:port */
	uint8_t secret[WIRE_SECRET];
	const char *name;              /* NULL: "w-PID" */
	const char *backend;           /* "local", "slurm", "htcondor", "manual" */
	const char *pilot;             /* the batch job's id, or NULL */
	int slots;                     /* tasks at once (1..WIRE_MAX_SLOTS) */
	double linger;                 /* seconds without a coordinator before exiting */
	double time_limit;             /* seconds after start to hand back and exit; 0: none */
	bool quiet;                    /* no log lines on stderr */
	/* Tests and benchmarks: run nothing, answer each task with an empty
	 * result of its query after this many seconds (the coordinator's cost
	 * alone).  < 0: run tasks for real. */
	double fake_secs;
};

/* Run the worker until it should exit.  Returns the process's exit code:
 * 0 on BYE, linger or a signal; 1 when it could not start (msg says why
 * on stderr); 2 when the coordinator failed to prove itself. */
int wclient_run(const struct wclient_opts *o);

#endif
