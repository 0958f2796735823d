/* Chooses the kernel table at run time: the widest vector unit this CPU has, unless the
 * environment variable QH_ISA asks for another (used by the tests to cover every path and
 * by benchmarks to compare them). Single precision follows the same choice. */
#include <stdlib.h>
#include <string.h>

#include "mpi_sim/kernels/kernels.h"

static int s_cpu_has(const char *isa)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(isa, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return strcmp(isa, "generic") == 0;
}

const qh__kernel_table *qh__kernels_for(const char *isa)
{
    if (!s_cpu_has(isa))
        return NULL;
#if QH_HAVE_AVX512
    if (strcmp(isa, "avx512") == 0)
        return &qh__kernels_avx512;
#endif
#if QH_HAVE_AVX2
    if (strcmp(isa, "avx2") == 0)
        return &qh__kernels_avx2;
#endif
    if (strcmp(isa, "generic") == 0)
        return &qh__kernels_generic;
    return NULL;
}

const qh__kernel_table *qh__kernels(void)
{
    static const qh__kernel_table *chosen;
    const qh__kernel_table *k = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (k)
        return k;
    const char *want = getenv("QH_ISA");
    if (want && *want)
        k = qh__kernels_for(want);
    if (!k)
        k = qh__kernels_for("avx512");
    if (!k)
        k = qh__kernels_for("avx2");
    if (!k)
        k = &qh__kernels_generic;
    __atomic_store_n(&chosen, k, __ATOMIC_RELEASE);
    return k;
}

const qh__kernel_table *qh__kernels_single_for(const char *isa)
{
    if (!s_cpu_has(isa))
        return NULL;
#if QH_HAVE_AVX512
    if (strcmp(isa, "avx512") == 0)
        return &qh__kernels_avx512_single;
#endif
#if QH_HAVE_AVX2
    if (strcmp(isa, "avx2") == 0)
        return &qh__kernels_avx2_single;
#endif
    if (strcmp(isa, "generic") == 0)
        return &qh__kernels_generic_single;
    return NULL;
}

const qh__kernel_table *qh__kernels_single(void)
{
    /* the double table's choice, so that QH_ISA and the CPU decide both alike */
    const qh__kernel_table *k = qh__kernels_single_for(qh__kernels()->isa);
    return k ? k : &qh__kernels_generic_single;
}
