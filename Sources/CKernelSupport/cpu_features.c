// Built without AVX flags, so it can run (and refuse politely) on any x86-64 CPU.
#include "cpu_features.h"

#include <stdio.h>
#include <stdlib.h>

int lorad_cpu_runs_vector_kernels(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 1;
#endif
}

void lorad_vector_kernels_refusal(char *buffer, size_t size, const char *program) {
    snprintf(buffer, size,
             "%s: this build uses AVX2 and FMA instructions, which this CPU does not support.\n"
             "Rebuild it for any x86-64 CPU with LORAD_PORTABLE=1 (slower), e.g. `LORAD_PORTABLE=1 make run`;\n"
             "see docs/operations.md, \"Troubleshooting\".\n",
             program);
}

void lorad_require_vector_kernels(const char *program) {
    if (lorad_cpu_runs_vector_kernels()) return;
    char message[512];
    lorad_vector_kernels_refusal(message, sizeof message, program);
    fputs(message, stderr);
    exit(1);
}
