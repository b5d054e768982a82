/* eval.h — a checked query compiled to a program over column batches.
 *
 * The program is the query's expressions in evaluation order; each node
 * computes its values for a whole batch (thousands of events) at a time.
 * A define used twice is computed once per batch; a define never used is
 * never computed, and only the branches the program needs are read.
 *
 * Thread safety: a struct eval_prog is immutable and shared; each thread
 * runs its own struct eval_state and the states are merged at the end. */
#ifndef ANAFS_EVAL_H
#define ANAFS_EVAL_H

#include "hist.h"
#include "ql.h"
#include "result.h"
#include "rootio.h"

#include <stdint.h>

struct eval_prog;
struct eval_state;

/* Compile checked query q (borrowed: it must outlive the program).
 * Returns 0, -EINVAL when q is not checked, or -ENOMEM. */
int eval_compile(const struct ql_query *q, struct eval_prog **out);
void eval_prog_free(struct eval_prog *p);

/* The schema columns the program reads, in input order: a batch passes
 * one struct rootio_column per input, in this order. */
size_t eval_ninputs(const struct eval_prog *p);
/* The nodes the program computes per batch (what a variation adds shows
 * here: only what depends on what it varies). */
size_t eval_nnodes(const struct eval_prog *p);
int eval_input_column(const struct eval_prog *p, size_t i);

/* Per-thread state: histograms and the cutflow, empty at first. */
int eval_state_new(const struct eval_prog *p, struct eval_state **out);
void eval_state_free(struct eval_state *s);

/* The source of the batches that follow: the sample of their file (index
 * in the query's samples; 0 when it names none) and the fingerprint of
 * its tree (plan_file.fingerprint), which seeds random_normal. */
void eval_set_source(struct eval_state *s, int sample, uint64_t fingerprint);
/* Fills of 1-D and 2-D histograms (regular or variable axes, no
 * profile) of min_points points or more go to the device through g
 * (borrowed, the caller's thread's; NULL: every fill on the CPU).  The
 * device gives the CPU's counts exactly and weighted sums within 1e-12
 * relative (gpu.h).  A device error makes that fill, and every later one
 * until the next eval_set_gpu(), run on the CPU: the batch never fails for
 * it.  eval_gpu_failed() is that error (0: none), eval_gpu_fills() the
 * fills the device made, both since the last eval_set_gpu(). */
struct gpu_ctx;
void eval_set_gpu(struct eval_state *s, struct gpu_ctx *g, size_t min_points);
int eval_gpu_failed(const struct eval_state *s);
uint64_t eval_gpu_fills(const struct eval_state *s);
/* The same for the program's nodes: those of at least min_points values
 * that the device computes to the CPU's bit (eval_gpu_ops.c's list) go to
 * it, every other node stays on the CPU; eval_gpu_nodes() counts the
 * nodes the device computed since the last eval_set_gpu(). */
uint64_t eval_gpu_nodes(const struct eval_state *s);

/* Add w to the generator weights summed for the current sample
 * (sumw=auto: the runner reads them). */
void eval_add_sumw(struct eval_state *s, double w);

/* Run one batch of nevents events; cols[i] holds input i over those events
 * (rootio_read output).  Returns 0, or -EINVAL with *why set (static text)
 * when the data contradict the tree's description (a list whose length
 * differs from its counter's). */
int eval_run(struct eval_state *s, int64_t nevents, const struct rootio_column *const *cols,
	     const char **why);

/* Take s's results (histograms, cutflow): *out is new (result_free()), and
 * s is left with empty results, ready to run on.  This is how a task's
 * partial result is taken. */
int eval_state_take(struct eval_state *s, struct result **out);

/* The same as a state: *out is a new state holding s's results. */
int eval_state_split(struct eval_state *s, struct eval_state **out);

/* Add src's results into dst (states of the same program; -EINVAL
 * otherwise).  See result_merge() for the order. */
int eval_state_merge(struct eval_state *dst, const struct eval_state *src);

/* s's results so far (borrowed). */
const struct result *eval_state_result(const struct eval_state *s);

/* Results.  Histograms in query order (borrowed). */
size_t eval_nhists(const struct eval_state *s);
struct hist *eval_hist(const struct eval_state *s, size_t i);
/* Cutflow: events seen, then events passing each filter in turn. */
size_t eval_nfilters(const struct eval_state *s);
int64_t eval_events(const struct eval_state *s);
int64_t eval_passed(const struct eval_state *s, size_t filter);
const char *eval_filter_name(const struct eval_prog *p, size_t filter);

#endif
