/* gpu.h — the accelerator: device detection, a per-worker context, and
 * operations on column batches (bin indices, 1-D and 2-D histogram fills
 * with and without weights, compaction by a mask).  No CUDA type appears
 * here: callers are plain C, and a build without the CUDA toolkit
 * (gpu_none.c) has the same functions, reporting no device.
 *
 * The kernels' logic is in gpu_kern.h, compiled both as device code and
 * as host C, so that what the device computes is checked on every
 * machine.  The rule for a bin is exec/hist's (hist.h): on a regular axis
 * bin = floor(nbins * (x - lo) / (hi - lo)) in double, x < lo underflow
 * (index 0), x >= hi overflow (nbins + 1), NaN no bin (-1); a variable
 * axis puts x in [e(i), e(i+1)).
 *
 * Determinism.  Integer counts are exact whatever the order.  Weighted
 * sums are computed as partial sums over fixed chunks of the points (each
 * chunk summed in point order), then the chunks' partials added in chunk
 * order: the same bits on every run, and within 1e-12 relative of the
 * CPU's one-pass sum per bin (for weights of one sign; see docs/gpu.md).
 *
 * Host emulation.  With ANAFS_GPU_EMULATE=1 in the environment, device 0
 * is "host emulation": the operations run gpu_kern.h on the CPU with the
 * device's chunking, so the selection, the hook in the evaluator and the
 * fallback can be tested without a GPU.  ANAFS_GPU_FAULT=oom (or =error)
 * makes every fill of a context fail with -ENOMEM (or -EIO), on the
 * device or emulated, for testing the fallback.
 *
 * Thread safety: detection functions may be called from any thread.  A
 * struct gpu_ctx belongs to one thread at a time (a worker's); several
 * contexts may be open at once, each with its own stream and buffers. */
#ifndef ANAFS_GPU_H
#define ANAFS_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GPU_NAME_MAX 128

struct gpu_info {
	char name[GPU_NAME_MAX];  /* "NVIDIA H200", or "host emulation" */
	uint64_t mem_total;       /* bytes (free memory is not asked: that would make a
				   * CUDA context, and detection must stay cheap) */
	int cc_major, cc_minor;   /* compute capability; 0.0 for the emulation */
	bool emulated;
};

/* Devices usable now: 0 without a GPU, a driver or the toolkit (normal,
 * never an error), 1 with ANAFS_GPU_EMULATE=1 and no real device. */
int gpu_device_count(void);
/* What device dev is: 0, or -ENODEV. */
int gpu_device_info(int dev, struct gpu_info *out);

struct gpu_ctx;

/* A context on device dev: cheap; the stream and device buffers are made
 * at the first operation, and grow with the batches.  *out is new:
 * release with gpu_ctx_close().  0, -ENODEV, or -ENOMEM. */
int gpu_ctx_open(int dev, struct gpu_ctx **out);
void gpu_ctx_close(struct gpu_ctx *g);
/* The device's name (borrowed, as long as g). */
const char *gpu_ctx_name(const struct gpu_ctx *g);

/* A regular axis (edges NULL: nbins bins over [lo, hi)) or a variable one
 * (nbins + 1 strictly increasing edges, borrowed for the call). */
struct gpu_axis {
	int nbins;
	double lo, hi;
	const double *edges;
};

/* bins[i] = the bin of x[i] on a, as above.  0 or a negative code
 * (-ENODEV, -ENOMEM, -EIO for another device error). */
int gpu_bins(struct gpu_ctx *g, const struct gpu_axis *a, const double *x, size_t n,
	     int32_t *bins);

/* A histogram to add into: ndim 1 or 2 axes; cells x outermost, each axis
 * with its flow bins (nbins + 2), so cell = ix * (ny + 2) + iy.  Unweighted
 * when sw is NULL: cnt gets the counts.  Weighted: sw and sw2 get the sums
 * of weights and of squared weights.  skipped and entries count the points
 * that went into no bin (NaN coordinate, weight not finite) and into one. */
struct gpu_hist {
	int ndim;
	struct gpu_axis ax[2];
	int64_t *cnt;
	double *sw, *sw2;
	uint64_t skipped, entries;
};

/* Fill n points x[i] (and y[i] for 2-D) with weights w[i] (NULL: 1; only
 * for weighted) into h.  All or nothing: on an error h is unchanged, and
 * the caller fills on the CPU.  0, -ENODEV, -ENOMEM (device memory), -EIO. */
int gpu_fill(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
	     const double *w, size_t n);
/* The same, where the arrays flagged in stable (GPU_STABLE_X, _Y, _W) keep
 * their values for the context's epoch (gpu_eval_epoch()): the device uses
 * its copy when it has one, and keeps the one it is sent. */
#define GPU_STABLE_X 1u
#define GPU_STABLE_Y 2u
#define GPU_STABLE_W 4u
int gpu_fill_kept(struct gpu_ctx *g, struct gpu_hist *h, const double *x, const double *y,
		  const double *w, size_t n, unsigned stable);

/* out = the x[i] with mask[i] != 0, in order; *kept their count.  0 or a
 * negative code. */
int gpu_compact(struct gpu_ctx *g, const double *x, const uint8_t *mask, size_t n, double *out,
		size_t *kept);

/* ---- evaluation (gpu_eval.c): the evaluator's nodes, one at a time ---- */

/* Storage of values: exec/eval's (bool uint8_t, int int64_t, number double). */
enum gpu_vt { GPU_VT_U8, GPU_VT_I64, GPU_VT_F64 };

/* An argument of a node: n values, or one for every value (scalar).
 * stable: the host buffer keeps these values until the context's epoch
 * changes (gpu_eval_epoch()), so that the device may keep its copy and
 * not send it again. */
struct gpu_operand {
	enum gpu_vt t;
	const void *data;
	bool scalar;
	bool stable;
};

/* What a node computes, value by value: exec/eval's formulas (eval_ops.c)
 * restricted to those IEEE 754 rounds exactly, so that the device's
 * values are the CPU's to the bit (gpu_ekern.h).  Arguments: binary ops
 * 2, NOT NEG ABS SQRT FLOOR CEIL 1, COND 3 (condition, then, else). */
enum gpu_op {
	GPU_OP_ADD, GPU_OP_SUB, GPU_OP_MUL, GPU_OP_DIV, GPU_OP_MOD,
	GPU_OP_EQ, GPU_OP_NE, GPU_OP_LT, GPU_OP_LE, GPU_OP_GT, GPU_OP_GE,
	GPU_OP_AND, GPU_OP_OR, GPU_OP_NOT,
	GPU_OP_NEG, GPU_OP_ABS, GPU_OP_SQRT, GPU_OP_FLOOR, GPU_OP_CEIL,
	GPU_OP_MIN2, GPU_OP_MAX2, GPU_OP_DELTA_PHI, GPU_OP_COND,
	GPU_OP_COUNT_ /* the number of ops */
};

/* out[i] = op(args[0][i], ...) for i < n, computed in ct (the arguments
 * converted to it as C converts): out holds ct's storage, or uint8_t for
 * comparisons and logic; within an epoch out is kept on the device.  Integers wrap; x % 0 and x % -1 are 0 (as
 * exec/eval).  0, -EINVAL (a bad op or type), -ENOMEM, -EIO, -ENODEV. */
int gpu_eval_map(struct gpu_ctx *g, enum gpu_op op, enum gpu_vt ct, const struct gpu_operand *args,
		 int nargs, size_t n, void *out);

/* Per-event reductions of a list (offsets off[0..nev], off[0] = 0). */
enum gpu_red { GPU_RED_SUM, GPU_RED_MIN, GPU_RED_MAX, GPU_RED_ANY, GPU_RED_ALL, GPU_RED_COUNT };

/* out[e] = r over x[off[e]..off[e+1]) (storage t), in element order: t's
 * storage, int64_t for COUNT and for the SUM of booleans.  An empty list
 * gives 0 (true for ALL): the caller marks min and max missing there.
 * 0 or a negative code. */
int gpu_eval_reduce(struct gpu_ctx *g, enum gpu_red r, enum gpu_vt t, const void *x,
		    const int64_t *off, size_t nev, void *out);

/* A list masked by keep (one flag an element): out = the elements of x
 * (size 1 or 8 bytes each) with keep set, in order, noff[0..nev] their
 * offsets, *kept their count.  0 or a negative code. */
int gpu_eval_mask(struct gpu_ctx *g, size_t size, const void *x, const uint8_t *keep,
		  const int64_t *off, size_t nev, void *out, int64_t *noff, size_t *kept);

/* Residency.  Within an epoch (a number the caller makes unique, nonzero),
 * the device keeps its copies of the host buffers it was sent (stable
 * operands; every input of a reduction or a mask) and of the results it
 * computed (every result), keyed by the host address, and sends none of
 * them twice: the caller promises that none of those host buffers
 * changes within the epoch.  A new epoch forgets them all.  Without an
 * epoch (0, the context's first state) nothing is kept.  At most
 * GPU_RES_BYTES of device memory are kept; past it, copies are made and
 * dropped again. */
#define GPU_RES_BYTES ((size_t)1 << 30)
void gpu_eval_epoch(struct gpu_ctx *g, uint64_t epoch);

/* What the evaluation and the fills moved: bytes to and from the device,
 * and the operations run, since the context opened. */
struct gpu_traffic {
	uint64_t to_dev, from_dev, ops;
};
void gpu_ctx_traffic(const struct gpu_ctx *g, struct gpu_traffic *out);

/* ---- selection (gpu_select.c) ---- */

enum gpu_mode { GPU_AUTO, GPU_ON, GPU_OFF };

/* Fills and nodes of fewer values stay on the CPU under auto: a fill
 * moves 8 bytes a point (16 weighted) to the device, a node its arguments
 * and its result (8 bytes a value each for numbers), and each pays a
 * launch or two; below this the CPU (about 1 ns a value) is done first.
 * Not measured on a device yet (docs/gpu.md). */
#define GPU_AUTO_MIN_POINTS 32768

/* Events a batch holds when a task runs with a device (exec/worker's
 * runner; PLAN_BATCH, 8192, without one): a flat node or fill then sends
 * 131072 values, a list of jets several times that, past
 * GPU_AUTO_MIN_POINTS; after a filter that keeps less than a quarter of
 * the events, the flat nodes and fills stay on the CPU. */
#define GPU_EVAL_EVENTS 131072

/* "auto", "on", "off" into *out: 0, or -EINVAL. */
int gpu_mode_parse(const char *s, enum gpu_mode *out);
const char *gpu_mode_name(enum gpu_mode m);
/* The process's mode: set by gpu_mode_set(), else $ANAFS_GPU, else auto
 * (a bad $ANAFS_GPU reads as auto). */
enum gpu_mode gpu_mode_get(void);
void gpu_mode_set(enum gpu_mode m);

/* What this process does with its fills under mode m: true when on a
 * device (*dev its index); text (cap bytes) the one line for a job's log:
 * "fills on GPU NVIDIA H200 (--gpu auto: fills and operations of 32768
 * values or more)",
 * "fills on the CPU: no device (--gpu on)", "fills on the CPU (--gpu off)". */
bool gpu_choose(enum gpu_mode m, int *dev, char *text, size_t cap);
/* The least points a fill needs to go to the device under m (0 for on). */
size_t gpu_min_points(enum gpu_mode m);

/* Text for a negative code of this module ("device out of memory"). */
const char *gpu_strerror(int rc);

#endif
