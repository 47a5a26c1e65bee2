// Exposes OpenBLAS's CBLAS interface (and its thread controls) to Swift.
#include <cblas.h>
