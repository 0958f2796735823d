/* qhybrid — symbol visibility. The libraries are built with hidden visibility; QH_EXPORT
 * marks what is public. */
#ifndef QHYBRID_EXPORT_H
#define QHYBRID_EXPORT_H

#if defined(QH_BUILDING_SHARED) && defined(__GNUC__)
#define QH_EXPORT __attribute__((visibility("default")))
#else
#define QH_EXPORT
#endif

/* For qhybrid's own internal headers, not for programs that use it: marks an internal
 * function (qh__ prefix, declared in no installed header) that one of qhybrid's libraries
 * calls in another (libqhybrid_tasks and libqhybrid call core and HDF5 helpers of
 * libqhybrid_sim). It stays out of the API, but must be visible to the dynamic linker. */
#define QH_INTERNAL QH_EXPORT

#endif
