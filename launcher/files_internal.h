/* Internal: what the data store (launcher/files.c) shares with the rest of the launcher.
 * Function titles are checked here once, so that the functions code and the store accept
 * the same titles, and the functions code can find and remove a function's files. */
#ifndef QH_LAUNCHER_FILES_INTERNAL_H
#define QH_LAUNCHER_FILES_INTERNAL_H

#include "qhybrid/status.h"

/* Maximum length of a function title, in bytes. */
#define QH__FUNCTION_TITLE_MAX 64

/* QH_OK when title is a valid function title: 1 to 64 letters, digits, '-', '_' or '.',
 * not starting with '.'. QH_EINVAL with a sentence naming the fault otherwise (NULL and ""
 * included). */
qh_status qh__function_title_check(const char *title);

/* Removes the function's whole data area ($QH_HOME/files/functions/<title>/) with the
 * files stored in it; a function that has none is not an error. QH_EINVAL for a bad
 * title, QH_EIO when something cannot be removed (what remains stays usable). */
qh_status qh__files_remove_function(const char *title);

#endif
