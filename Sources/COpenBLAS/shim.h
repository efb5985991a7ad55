// OpenBLAS's CBLAS interface for the Neural engine, plus its thread controls.
#ifndef DEEPSCOPE_COPENBLAS_SHIM_H
#define DEEPSCOPE_COPENBLAS_SHIM_H
#include <cblas.h>
// openblas_set_num_threads is declared in cblas.h on Debian; this wrapper keeps one spelling if that moves.
static inline void ds_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int ds_blas_get_threads(void) { return openblas_get_num_threads(); }
#endif
