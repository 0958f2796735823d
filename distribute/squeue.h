/* Internal: the queue of tasks waiting for room, first come first served within a
 * priority, without head-of-line blocking between different needs.
 *
 * Tasks are grouped into classes of identical (priority, cpu, gpu, mem); each class is a
 * FIFO of intrusive items numbered in arrival order. Taking the next task asks, class by
 * class, whether its need fits somewhere now (a callback), and among the classes that fit
 * takes the head with the highest priority and then the smallest arrival number. So a big
 * task waiting for room does not hold back small ones behind it, yet tasks alike start in
 * the order they came. Cost per pop: O(classes × fit test), independent of queue length.
 * Not synchronised; pure code. */
#ifndef QH_DISTRIBUTE_SQUEUE_H
#define QH_DISTRIBUTE_SQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "distribute/wire.h"

typedef struct qh__sq_item {
    struct qh__sq_item *next; /* within its class */
    uint64_t seq;             /* arrival number */
} qh__sq_item;

typedef struct qh__sq_class {
    qh__res need;             /* what each task of the class needs */
    int priority;             /* higher first */
    qh__sq_item *head, *tail; /* FIFO */
    size_t n;                 /* items in it */
    int64_t mark;             /* free for the owner (0 when the class is new or reused) */
} qh__sq_class;

typedef struct qh__squeue {
    qh__sq_class *classes; /* distinct needs seen, emptied ones reused */
    size_t nclasses, cap;
    uint64_t next_seq; /* arrival counter */
    size_t total;      /* items queued */
} qh__squeue;

/* Tells whether a need fits now: returns a choice >= 0 (e.g. a worker index) or -1. */
typedef int (*qh__sq_fit_fn)(void *ctx, const qh__res *need);

/* Appends an item (not owned). QH_ENOMEM when a new class cannot be allocated. */
qh_status qh__sq_push(qh__squeue *q, qh__sq_item *it, const qh__res *need, int priority);
/* Takes the next item whose need fits (see above); NULL when none fits. *choice gets the
 * callback's answer for it; need/priority (may be NULL) its class's. */
qh__sq_item *qh__sq_pop_fit(qh__squeue *q, qh__sq_fit_fn fit, void *ctx, int *choice, qh__res *need,
                            int *priority);
/* Takes every item of class i at once, as a list linked through `next` in arrival order
 * (NULL when empty). */
qh__sq_item *qh__sq_take_class(qh__squeue *q, size_t i);
/* Takes every item, oldest class first (for shutdown); NULL when empty. */
qh__sq_item *qh__sq_pop_any(qh__squeue *q);
void qh__sq_free(qh__squeue *q);

#endif
