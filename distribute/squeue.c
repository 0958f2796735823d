/* The waiting-task queue of the broker and of the in-process executor (see squeue.h). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/squeue.h"

static size_t s_class(qh__squeue *q, const qh__res *need, int priority)
{
    size_t empty = SIZE_MAX;
    for (size_t i = 0; i < q->nclasses; i++) {
        qh__sq_class *c = &q->classes[i];
        if (c->priority == priority && c->need.cpu == need->cpu && c->need.gpu == need->gpu &&
            c->need.mem == need->mem)
            return i;
        if (c->n == 0 && empty == SIZE_MAX)
            empty = i;
    }
    if (empty != SIZE_MAX) {
        q->classes[empty].need = *need;
        q->classes[empty].priority = priority;
        q->classes[empty].mark = 0;
        return empty;
    }
    if (q->nclasses == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 8;
        qh__sq_class *c = realloc(q->classes, cap * sizeof *c);
        if (!c)
            return SIZE_MAX;
        q->classes = c;
        q->cap = cap;
    }
    qh__sq_class *c = &q->classes[q->nclasses];
    memset(c, 0, sizeof *c);
    c->need = *need;
    c->priority = priority;
    return q->nclasses++;
}

qh_status qh__sq_push(qh__squeue *q, qh__sq_item *it, const qh__res *need, int priority)
{
    size_t i = s_class(q, need, priority);
    if (i == SIZE_MAX)
        return QH_ERROR(QH_ENOMEM, "out of memory queueing a task");
    qh__sq_class *c = &q->classes[i];
    it->next = NULL;
    it->seq = q->next_seq++;
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->n++;
    q->total++;
    return QH_OK;
}

static qh__sq_item *s_take(qh__squeue *q, qh__sq_class *c)
{
    qh__sq_item *it = c->head;
    c->head = it->next;
    if (!c->head)
        c->tail = NULL;
    c->n--;
    q->total--;
    it->next = NULL;
    return it;
}

qh__sq_item *qh__sq_pop_fit(qh__squeue *q, qh__sq_fit_fn fit, void *ctx, int *choice, qh__res *need,
                            int *priority)
{
    qh__sq_class *best = NULL;
    int best_choice = -1;
    for (size_t i = 0; i < q->nclasses; i++) {
        qh__sq_class *c = &q->classes[i];
        if (!c->n)
            continue;
        if (best && (c->priority < best->priority ||
                     (c->priority == best->priority && c->head->seq > best->head->seq)))
            continue; /* could not win even if it fits */
        int ch = fit(ctx, &c->need);
        if (ch < 0)
            continue;
        best = c;
        best_choice = ch;
    }
    if (!best)
        return NULL;
    if (choice)
        *choice = best_choice;
    if (need)
        *need = best->need;
    if (priority)
        *priority = best->priority;
    return s_take(q, best);
}

qh__sq_item *qh__sq_take_class(qh__squeue *q, size_t i)
{
    qh__sq_class *c = &q->classes[i];
    qh__sq_item *all = c->head;
    q->total -= c->n;
    c->head = c->tail = NULL;
    c->n = 0;
    return all;
}

qh__sq_item *qh__sq_pop_any(qh__squeue *q)
{
    for (size_t i = 0; i < q->nclasses; i++)
        if (q->classes[i].n)
            return s_take(q, &q->classes[i]);
    return NULL;
}

void qh__sq_free(qh__squeue *q)
{
    free(q->classes);
    memset(q, 0, sizeof *q);
}
