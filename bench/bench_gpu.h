/* bench_gpu.h — what bench_gpu's files share. */
#ifndef ANAFS_BENCH_GPU_H
#define ANAFS_BENCH_GPU_H

struct gpu_ctx;

/* Evaluation rates of the benchmark queries over file on g against one
 * and cores CPU threads, each timed for at least secs (bench_gpu_eval.c).
 * 0, or -1 when the file or a query could not be read. */
int bench_gpu_eval(struct gpu_ctx *g, int cores, double secs, const char *file);

#endif
