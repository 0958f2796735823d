/* qhybrid — symbol visibility. The library is built with hidden visibility; QH_EXPORT
 * marks what is public. */
#ifndef QHYBRID_EXPORT_H
#define QHYBRID_EXPORT_H

#if defined(QH_BUILDING_SHARED) && defined(__GNUC__)
#define QH_EXPORT __attribute__((visibility("default")))
#else
#define QH_EXPORT
#endif

#endif
