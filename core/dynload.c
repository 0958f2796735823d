/* Loading a library when first needed (core/dynload.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/dynload.h"

bool qh__dynload(const char *env, const char *lib, const qh__dynsym *syms, size_t n, char *err,
                 size_t errlen)
{
    const char *chosen = env ? getenv(env) : NULL;
    if (chosen && *chosen)
        lib = chosen;
    /* RTLD_GLOBAL: the library's own plugins (HDF5's filters, say) may look its symbols up */
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        snprintf(err, errlen, "%s", dlerror());
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        dlerror();
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(err, errlen, "%s has no symbol %s", lib, syms[i].name);
            return false;
        }
    }
    return true;
}
