// The prefetch hints are static inline functions in include/prefetch.h; SwiftPM needs one source file.
#include "prefetch.h"
