// OpenBLAS's CBLAS interface for the Neural engine, plus its thread controls, the allocator setting and a
// prefetch hint.
#ifndef DEEPSCOPE_COPENBLAS_SHIM_H
#define DEEPSCOPE_COPENBLAS_SHIM_H
#include <cblas.h>
// openblas_set_num_threads is declared in cblas.h on Debian; this wrapper keeps one spelling if that moves.
static inline void ds_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int ds_blas_get_threads(void) { return openblas_get_num_threads(); }

// OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels from a table of CPU models. A model newer than
// the library (Debian bookworm's 0.3.21 on Emerald Rapids, family 6 model 207) falls back to Prescott's SSE3
// kernels: sgemm at 30 GFLOP/s on one core where the SkylakeX kernels give 145. This re-selects the kernels by
// the CPU's features when the library fell back that way and nobody set OPENBLAS_CORETYPE: SkylakeX for
// AVX-512 (F, BW, DQ, VL), Haswell for AVX2 with FMA. The two entry points are weak, so a library built for
// one core (no dynamic dispatch) links too and is left alone. Returns 1 when it re-selected.
#include <stdlib.h>
#include <strings.h>
extern char *openblas_get_corename(void);
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));
static inline int ds_blas_reselect_core(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || getenv("OPENBLAS_CORETYPE")) return 0;
    const char *name = openblas_get_corename();
    if (!name || strcasecmp(name, "prescott") != 0) return 0;
    __builtin_cpu_init();
    const char *core = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl")) core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) core = "Haswell";
    if (!core) return 0;
    setenv("OPENBLAS_CORETYPE", core, 0);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    return 1;
#else
    return 0;
#endif
}
static inline const char *ds_blas_core_name(void) { return openblas_get_corename(); }

// A hint to fetch the cache line at p for writing ahead of use: the engine's products ask for the next block of Y
// while they multiply into the current one. Y is written row by row, eight rows a map's width apart, more streams
// than the hardware prefetcher follows; where the map is larger than the last-level cache's share, each store
// otherwise waits for its line.
static inline void ds_prefetch_write(const void *p) {
#if defined(__GNUC__)
    __builtin_prefetch(p, 1, 3);
#else
    (void)p;
#endif
}

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
