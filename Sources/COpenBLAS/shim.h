// OpenBLAS's CBLAS interface for the Neural engine, plus its thread controls and the allocator setting.
#ifndef DEEPSCOPE_COPENBLAS_SHIM_H
#define DEEPSCOPE_COPENBLAS_SHIM_H
#include <cblas.h>
// openblas_set_num_threads is declared in cblas.h on Debian; this wrapper keeps one spelling if that moves.
static inline void ds_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int ds_blas_get_threads(void) { return openblas_get_num_threads(); }

// The engine's allocator settings (Engine.swift): glibc's mmap and trim thresholds; a no-op elsewhere.
#if defined(__GLIBC__)
#include <malloc.h>
static inline void ds_tune_allocator(int mmap_threshold, int trim_threshold) {
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
}
#else
static inline void ds_tune_allocator(int mmap_threshold, int trim_threshold) { (void)mmap_threshold; (void)trim_threshold; }
#endif
#endif
