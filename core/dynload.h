/* Internal: loading a third-party library the first time it is needed rather than when the
 * program starts (dlopen), for libraries that only some runs use and that bring many
 * others with them. The file at the library's boundary keeps a pointer per symbol it uses
 * and names them in a table; loading fills the pointers, once. */
#ifndef QH_CORE_DYNLOAD_H
#define QH_CORE_DYNLOAD_H

#include <pthread.h>
#include <stddef.h>

#include "qhybrid/status.h"

/* A symbol to look up and where its address goes (a function pointer or a pointer to a
 * variable, stored through void ** as POSIX allows). */
typedef struct {
    const char *name;
    void **slot;
} qh__dynsym;

/* A library to load once: static, initialised with QH__DYNLIB_INIT. */
typedef struct {
    pthread_mutex_t mu;
    int tried;
    char err[512]; /* why loading failed; empty when it did not */
} qh__dynlib;
#define QH__DYNLIB_INIT                                                                            \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0, ""                                                           \
    }

/* The first call loads library `lib` (a soname or a path), or the one the environment
 * variable `env` names when it is set and not empty, and fills each slot of syms[0..n);
 * later calls return what the first found. NULL when the library is loaded, else why not
 * (the loader's message, or the missing symbol's name). Safe from several threads. */
QH_INTERNAL const char *qh__dynlib_load(qh__dynlib *d, const char *env, const char *lib,
                                        const qh__dynsym *syms, size_t n);

#endif
