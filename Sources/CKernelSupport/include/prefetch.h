// Cache prefetch hints for the Swift kernels, which have no way to emit them directly.
#ifndef LORAD_PREFETCH_H
#define LORAD_PREFETCH_H

/// Asks the cache hierarchy to start loading the line holding `address` for reading (a hint: never faults).
static inline __attribute__((always_inline)) void lorad_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

#endif
