// What the CPU offers the vector kernels, asked before any of them runs.
#ifndef LORAD_CPU_FEATURES_H
#define LORAD_CPU_FEATURES_H

#include <stddef.h>

/// 1 when the CPU (and the OS) support the instructions the default build's kernels use (AVX2 and FMA on
/// x86-64); always 1 elsewhere.
int lorad_cpu_runs_vector_kernels(void);

/// Writes into `buffer` (at most `size` bytes, NUL-terminated) why `program` cannot run on this CPU and how to
/// build it so it can.
void lorad_vector_kernels_refusal(char *buffer, size_t size, const char *program);

/// Returns when `lorad_cpu_runs_vector_kernels()`; otherwise prints the refusal to standard error and exits
/// with status 1. Call it first thing in `main`, before any code built for AVX2 runs.
void lorad_require_vector_kernels(const char *program);

#endif
