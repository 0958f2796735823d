/* The IBM backend files of backends/ compiled into the library, so that the built-in
 * targets need no data path at run time. The assembler's .incbin copies each file into
 * read-only data, followed by a NUL so that the JSON reader can take it as a string. */
#include <string.h>

#include "transpiler/target_internal.h"

#ifndef QH_BACKENDS_DIR
#error "QH_BACKENDS_DIR must name the directory of the backend files"
#endif

#define S_EMBED(sym, file)                                                                         \
    __asm__(".section .rodata\n"                                                                   \
            ".balign 16\n"                                                                         \
            ".type " #sym ", @object\n" #sym ":\n"                                                 \
            ".incbin \"" QH_BACKENDS_DIR "/" file "\"\n"                                           \
            ".byte 0\n"                                                                            \
            ".size " #sym ", . - " #sym "\n"                                                       \
            ".previous\n")

S_EMBED(s_conf_torino, "conf_torino.json");
S_EMBED(s_props_torino, "props_torino.json");
S_EMBED(s_conf_fez, "conf_fez.json");
S_EMBED(s_props_fez, "props_fez.json");
S_EMBED(s_conf_sherbrooke, "conf_sherbrooke.json");
S_EMBED(s_props_sherbrooke, "props_sherbrooke.json");

/* Defined by the assembler above; local symbols of this file. */
extern const char s_conf_torino[], s_props_torino[], s_conf_fez[], s_props_fez[],
    s_conf_sherbrooke[], s_props_sherbrooke[];

typedef struct s_backend {
    const char *name;  /* the target's name */
    const char *conf;  /* configuration text */
    const char *props; /* calibration text */
} s_backend;

static const s_backend *s_find(const char *name)
{
    static const s_backend list[] = {
        {"ibm_torino", s_conf_torino, s_props_torino},
        {"ibm_fez", s_conf_fez, s_props_fez},
        {"ibm_sherbrooke", s_conf_sherbrooke, s_props_sherbrooke},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

const char *qh__backend_conf(const char *name)
{
    const s_backend *b = s_find(name);
    return b ? b->conf : NULL;
}

const char *qh__backend_props(const char *name)
{
    const s_backend *b = s_find(name);
    return b ? b->props : NULL;
}
