/* Loading a library when first needed (core/dynload.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/dynload.h"

static void s_load(qh__dynlib *d, const char *env, const char *lib, const qh__dynsym *syms,
                   size_t n)
{
    const char *chosen = env ? getenv(env) : NULL;
    if (chosen && *chosen)
        lib = chosen;
    /* RTLD_GLOBAL: the library's own plugins (HDF5's filters, say) may look its symbols up */
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(d->err, sizeof d->err, "%s", why ? why : lib);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(d->err, sizeof d->err, "%s has no symbol %s", lib, syms[i].name);
            dlclose(h);
            return;
        }
    }
}

const char *qh__dynlib_load(qh__dynlib *d, const char *env, const char *lib, const qh__dynsym *syms,
                            size_t n)
{
    pthread_mutex_lock(&d->mu);
    if (!d->tried) {
        s_load(d, env, lib, syms, n);
        d->tried = 1;
    }
    pthread_mutex_unlock(&d->mu);
    return d->err[0] ? d->err : NULL;
}
