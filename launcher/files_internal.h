/* Internal: what the data store (launcher/files.c) shares with the rest of the launcher.
 * Function titles are checked here once, so that the functions code and the store accept
 * the same titles. */
#ifndef QH_LAUNCHER_FILES_INTERNAL_H
#define QH_LAUNCHER_FILES_INTERNAL_H

#include "qhybrid/status.h"

/* Maximum length of a function title, in bytes. */
#define QH__FUNCTION_TITLE_MAX 64

/* QH_OK when title is a valid function title: 1 to 64 letters, digits, '-', '_' or '.',
 * not starting with '.'. QH_EINVAL with a sentence naming the fault otherwise (NULL and ""
 * included). */
qh_status qh__function_title_check(const char *title);

#endif
