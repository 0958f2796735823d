/* Internal: loading a third-party library the first time it is needed rather than when the
 * program starts (dlopen), for libraries that only some runs use and that bring many
 * others with them. The file at the library's boundary keeps a pointer per symbol it uses
 * and names them in a table; loading fills the pointers. */
#ifndef QH_CORE_DYNLOAD_H
#define QH_CORE_DYNLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "qhybrid/status.h"

/* A symbol to look up and where its address goes (a function pointer or a pointer to a
 * variable, stored through void ** as POSIX allows). */
typedef struct {
    const char *name;
    void **slot;
} qh__dynsym;

/* Loads library `lib` (a soname or a path), or the one the environment variable `env` names
 * when it is set and not empty, and fills each slot of syms[0..n). false when the library
 * cannot be loaded or lacks a symbol, with the reason (the loader's own, or the missing
 * symbol's name) in err[0..errlen). Not for concurrent first calls: callers load once
 * (pthread_once). */
QH_INTERNAL bool qh__dynload(const char *env, const char *lib, const qh__dynsym *syms, size_t n,
                             char *err, size_t errlen);

#endif
