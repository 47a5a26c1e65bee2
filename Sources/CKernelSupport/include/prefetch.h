// Cache prefetch hints for the Swift kernels, which have no way to emit them directly.
#ifndef LORAD_PREFETCH_H
#define LORAD_PREFETCH_H

/// Asks the cache hierarchy to start loading the line holding `address` for reading (a hint: never faults).
static inline __attribute__((always_inline)) void lorad_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

/// The same for a line needed later, in a few microseconds rather than the next few hundred cycles (the panel
/// kernel's next chunk). The lower temporal-locality hint measured 1–7% faster there than the one above.
static inline __attribute__((always_inline)) void lorad_prefetch_read_ahead(const void *address) {
    __builtin_prefetch(address, 0, 1);
}

#endif
