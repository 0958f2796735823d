/* The framing of the messages between clients, the broker and workers (see wire.h for the
 * layout). Writers append to a qh__buf; readers walk a bounds-checked cursor and turn any
 * inconsistency into QH_EPARSE, so a corrupt or hostile frame costs one error message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/wire.h"

#define S_HEADER 8 /* 'Q' 'H' version type, u32 count */

unsigned qh__heartbeat_ms(void)
{
    const char *s = getenv("QH_HEARTBEAT_MS");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v >= 10 && v <= 60000 ? (unsigned)v : 500;
}

void qh__wire_begin(qh__buf *b, qh__msg_type type)
{
    b->n = 0;
    b->err = false;
    uint8_t h[S_HEADER] = {'Q', 'H', QH__WIRE_VERSION, (uint8_t)type, 0, 0, 0, 0};
    qh__buf_put(b, h, sizeof h);
}

qh_status qh__wire_end(qh__buf *b, uint32_t count)
{
    if (b->err || b->n < S_HEADER)
        return QH_ERROR(QH_ENOMEM, "out of memory building a message");
    memcpy(b->p + 4, &count, 4);
    return QH_OK;
}

static void s_put_res(qh__buf *b, const qh__res *r)
{
    qh__buf_f64(b, r->cpu);
    qh__buf_u32(b, r->gpu);
    qh__buf_u64(b, r->mem);
}

static void s_put_target(qh__buf *b, const qh_target *t)
{
    qh__buf_f64(b, t->cpu);
    qh__buf_u32(b, t->gpu);
    qh__buf_u64(b, t->mem);
    qh__buf_u32(b, (uint32_t)t->max_retries);
    qh__buf_u32(b, (uint32_t)t->priority);
}

void qh__wire_put_hello(qh__buf *b, const qh__hello *h)
{
    qh__buf_u8(b, h->role);
    qh__buf_str(b, h->name);
    s_put_res(b, &h->cap);
    qh__buf_str(b, h->endpoint);
}

void qh__wire_put_shape(qh__buf *b, const qh__shape *s)
{
    qh__buf_u32(b, s->workers);
    s_put_res(b, &s->max);
    s_put_res(b, &s->total);
    qh__buf_u32(b, s->nlist);
    for (uint32_t i = 0; i < s->nlist; i++)
        s_put_res(b, &s->list[i]);
}

void qh__wire_put_welcome(qh__buf *b, const qh__welcome *w)
{
    qh__buf_u64(b, w->peer_no);
    qh__buf_u32(b, w->heartbeat_ms);
    qh__wire_put_shape(b, &w->shape);
}

void qh__wire_put_submit(qh__buf *b, uint64_t id, const char *name, const qh_target *t,
                         const uint64_t *deps, uint32_t ndeps, const void *args, size_t args_len)
{
    qh__buf_u64(b, id);
    qh__buf_str(b, name);
    s_put_target(b, t);
    qh__buf_u32(b, ndeps);
    qh__buf_put(b, deps, (size_t)ndeps * 8);
    qh__buf_blob(b, args, args_len);
}

void qh__wire_put_run(qh__buf *b, uint64_t id, const char *name, const qh_target *t,
                      const void *args, size_t args_len, uint32_t ndeps)
{
    qh__buf_u64(b, id);
    qh__buf_str(b, name);
    s_put_target(b, t);
    qh__buf_blob(b, args, args_len);
    qh__buf_u32(b, ndeps);
}

void qh__wire_put_dep(qh__buf *b, uint64_t id, const void *value, size_t len, const char *holder,
                      uint64_t size, const uint8_t *token)
{
    qh__buf_u64(b, id);
    qh__buf_blob(b, value, len);
    qh__buf_str(b, holder);
    qh__buf_u64(b, size);
    qh__buf_blob(b, token, token ? QH__TOKEN_LEN : 0);
}

void qh__wire_put_result(qh__buf *b, uint64_t id, qh_status status, const char *message,
                         const void *value, size_t value_len)
{
    qh__buf_u64(b, id);
    qh__buf_u32(b, (uint32_t)status);
    qh__buf_str(b, message);
    qh__buf_blob(b, value, value_len);
    qh__buf_str(b, "");
    qh__buf_u64(b, value_len);
    qh__buf_blob(b, NULL, 0);
}

void qh__wire_put_result_held(qh__buf *b, uint64_t id, const char *holder, uint64_t size,
                              const uint8_t *token)
{
    qh__buf_u64(b, id);
    qh__buf_u32(b, QH_OK);
    qh__buf_str(b, "");
    qh__buf_blob(b, NULL, 0);
    qh__buf_str(b, holder);
    qh__buf_u64(b, size);
    qh__buf_blob(b, token, QH__TOKEN_LEN);
}

void qh__wire_put_fetch(qh__buf *b, uint64_t id, const uint8_t token[QH__TOKEN_LEN])
{
    qh__buf_u64(b, id);
    qh__buf_blob(b, token, QH__TOKEN_LEN);
}

void qh__wire_put_id(qh__buf *b, uint64_t id)
{
    qh__buf_u64(b, id);
}

qh_status qh__wire_open(const void *data, size_t len, qh__msg_type *type, uint32_t *count,
                        qh__rd *rd)
{
    const uint8_t *p = data;
    if (len < S_HEADER || p[0] != 'Q' || p[1] != 'H')
        return QH_ERROR(QH_EPARSE, "not a qhybrid message (%zu bytes)", len);
    if (p[2] != QH__WIRE_VERSION)
        return QH_ERROR(QH_EPARSE, "message of protocol version %u, this build speaks %u", p[2],
                        QH__WIRE_VERSION);
    if (p[3] < QH__MSG_HELLO || p[3] > QH__MSG_DROP)
        return QH_ERROR(QH_EPARSE, "unknown message type %u", p[3]);
    *type = (qh__msg_type)p[3];
    memcpy(count, p + 4, 4);
    *rd = qh__rd_init(p + S_HEADER, len - S_HEADER);
    /* Every record takes at least 8 bytes: a count beyond that is a lie. */
    if (*count > rd->left / 8 + 1)
        return QH_ERROR(QH_EPARSE, "message claims %u records in %zu bytes", *count, rd->left);
    return QH_OK;
}

static qh_status s_bad(const char *what)
{
    return QH_ERROR(QH_EPARSE, "malformed %s record", what);
}

/* Reads a token: NULL when empty, an error unless QH__TOKEN_LEN bytes. */
static const uint8_t *s_get_token(qh__rd *rd)
{
    uint32_t len = 0;
    const uint8_t *p = qh__rd_blob(rd, &len);
    if (len != 0 && len != QH__TOKEN_LEN)
        rd->err = true;
    return len == QH__TOKEN_LEN && !rd->err ? p : NULL;
}

/* Reads a string into a fixed buffer; too long or with a NUL inside is an error. */
static void s_get_name(qh__rd *rd, char out[QH__NAME_MAX])
{
    uint32_t len = 0;
    const uint8_t *p = qh__rd_blob(rd, &len);
    if (len >= QH__NAME_MAX || memchr(p, 0, len)) {
        rd->err = true;
        len = 0;
    }
    memcpy(out, p, len);
    out[len] = 0;
}

/* Reads an endpoint into a fixed buffer, with the same checks as a name. */
static void s_get_endpoint(qh__rd *rd, char out[QH__ENDPOINT_MAX])
{
    uint32_t len = 0;
    const uint8_t *p = qh__rd_blob(rd, &len);
    if (len >= QH__ENDPOINT_MAX || memchr(p, 0, len)) {
        rd->err = true;
        len = 0;
    }
    memcpy(out, p, len);
    out[len] = 0;
}

static void s_get_res(qh__rd *rd, qh__res *r)
{
    r->cpu = qh__rd_f64(rd);
    r->gpu = qh__rd_u32(rd);
    r->mem = qh__rd_u64(rd);
    if (!(r->cpu >= 0 && r->cpu < 1e9)) /* also rejects NaN */
        rd->err = true;
}

static void s_get_target(qh__rd *rd, qh_target *t)
{
    t->cpu = qh__rd_f64(rd);
    t->gpu = qh__rd_u32(rd);
    t->mem = qh__rd_u64(rd);
    t->max_retries = (int)qh__rd_u32(rd);
    t->priority = (int)qh__rd_u32(rd);
    if (!(t->cpu > 0 && t->cpu < 1e9) || t->max_retries < 0)
        rd->err = true;
}

qh_status qh__wire_get_hello(qh__rd *rd, qh__hello *h)
{
    h->role = qh__rd_u8(rd);
    s_get_name(rd, h->name);
    s_get_res(rd, &h->cap);
    s_get_endpoint(rd, h->endpoint);
    if (rd->err || (h->role != QH__ROLE_CLIENT && h->role != QH__ROLE_WORKER))
        return s_bad("hello");
    if (!(h->cap.cpu <= QH__CPU_MAX) || h->cap.gpu > QH__GPU_MAX || h->cap.mem > QH__MEM_MAX)
        return QH_ERROR(QH_EPARSE,
                        "malformed hello: offers cpu=%g gpu=%u mem=%llu, beyond any machine "
                        "(at most %g, %u, %llu)",
                        h->cap.cpu, h->cap.gpu, (unsigned long long)h->cap.mem, QH__CPU_MAX,
                        QH__GPU_MAX, (unsigned long long)QH__MEM_MAX);
    return QH_OK;
}

qh_status qh__wire_get_shape(qh__rd *rd, qh__shape *s)
{
    s->workers = qh__rd_u32(rd);
    s_get_res(rd, &s->max);
    s_get_res(rd, &s->total);
    s->nlist = qh__rd_u32(rd);
    if (s->nlist > sizeof s->list / sizeof s->list[0])
        rd->err = true;
    for (uint32_t i = 0; i < s->nlist && !rd->err; i++)
        s_get_res(rd, &s->list[i]);
    return rd->err ? s_bad("pool shape") : QH_OK;
}

qh_status qh__wire_get_welcome(qh__rd *rd, qh__welcome *w)
{
    w->peer_no = qh__rd_u64(rd);
    w->heartbeat_ms = qh__rd_u32(rd);
    QH_CALL(qh__wire_get_shape(rd, &w->shape));
    if (rd->err || w->heartbeat_ms == 0)
        return s_bad("welcome");
    return QH_OK;
}

qh_status qh__wire_get_submit(qh__rd *rd, qh__submit *s)
{
    s->id = qh__rd_u64(rd);
    s_get_name(rd, s->name);
    s_get_target(rd, &s->target);
    s->ndeps = qh__rd_u32(rd);
    s->deps = rd->err || s->ndeps > rd->left / 8 ? NULL : qh__rd_take(rd, (size_t)s->ndeps * 8);
    if (!s->deps)
        rd->err = true;
    s->args = qh__rd_blob(rd, &s->args_len);
    if (rd->err || s->id == 0 || !s->name[0])
        return s_bad("submit");
    return QH_OK;
}

uint64_t qh__wire_dep(const qh__submit *s, uint32_t i)
{
    uint64_t id;
    memcpy(&id, s->deps + (size_t)i * 8, 8);
    return id;
}

qh_status qh__wire_get_run(qh__rd *rd, qh__run *r)
{
    r->id = qh__rd_u64(rd);
    s_get_name(rd, r->name);
    s_get_target(rd, &r->target);
    r->args = qh__rd_blob(rd, &r->args_len);
    r->ndeps = qh__rd_u32(rd);
    if (rd->err || r->id == 0 || r->ndeps > rd->left / 24)
        return s_bad("run");
    /* Skip the records now (checking them) so rd moves to the next one; keep a cursor. */
    r->deps = *rd;
    for (uint32_t i = 0; i < r->ndeps; i++) {
        uint32_t len;
        (void)qh__rd_u64(rd);
        (void)qh__rd_blob(rd, &len);
        (void)qh__rd_blob(rd, &len);
        (void)qh__rd_u64(rd);
        (void)qh__rd_blob(rd, &len);
    }
    return rd->err ? s_bad("run") : QH_OK;
}

qh_status qh__wire_next_dep(qh__run *r, qh__dep *d)
{
    d->id = qh__rd_u64(&r->deps);
    d->value = qh__rd_blob(&r->deps, &d->len);
    d->holder = (const char *)qh__rd_blob(&r->deps, &d->holder_len);
    d->size = qh__rd_u64(&r->deps);
    d->token = s_get_token(&r->deps);
    if (d->holder_len >= QH__ENDPOINT_MAX || (d->holder_len > 0) != (d->token != NULL))
        r->deps.err = true;
    return r->deps.err ? s_bad("dependency") : QH_OK;
}

qh_status qh__wire_get_result(qh__rd *rd, qh__result *r)
{
    r->id = qh__rd_u64(rd);
    r->status = qh__rd_u32(rd);
    r->message = (const char *)qh__rd_blob(rd, &r->message_len);
    r->value = qh__rd_blob(rd, &r->value_len);
    r->holder = (const char *)qh__rd_blob(rd, &r->holder_len);
    r->size = qh__rd_u64(rd);
    r->token = s_get_token(rd);
    if (rd->err || r->id == 0 || r->holder_len >= QH__ENDPOINT_MAX ||
        (r->holder_len > 0) != (r->token != NULL))
        return s_bad("result");
    return QH_OK;
}

qh_status qh__wire_get_id(qh__rd *rd, uint64_t *id)
{
    *id = qh__rd_u64(rd);
    return rd->err ? s_bad("id") : QH_OK;
}

qh_status qh__wire_get_fetch(qh__rd *rd, uint64_t *id, const uint8_t **token)
{
    *id = qh__rd_u64(rd);
    *token = s_get_token(rd);
    return rd->err || !*token ? s_bad("fetch") : QH_OK;
}

bool qh__res_covers(const qh__res *cap, const qh__res *need)
{
    /* Fractional cpus add up with rounding error: 10 × 0.1 must fit in 1 core. */
    return need->cpu <= cap->cpu + 1e-9 && need->gpu <= cap->gpu && need->mem <= cap->mem;
}

void qh__shape_add(qh__shape *s, const qh__res *cap)
{
    s->workers++;
    s->max.cpu = cap->cpu > s->max.cpu ? cap->cpu : s->max.cpu;
    s->max.gpu = cap->gpu > s->max.gpu ? cap->gpu : s->max.gpu;
    s->max.mem = cap->mem > s->max.mem ? cap->mem : s->max.mem;
    /* Saturating: what clients read must stay within what they accept. */
    s->total.cpu =
        s->total.cpu + cap->cpu < QH__TOTAL_CPU_MAX ? s->total.cpu + cap->cpu : QH__TOTAL_CPU_MAX;
    s->total.gpu = cap->gpu > UINT32_MAX - s->total.gpu ? UINT32_MAX : s->total.gpu + cap->gpu;
    s->total.mem = cap->mem > UINT64_MAX - s->total.mem ? UINT64_MAX : s->total.mem + cap->mem;
    if (s->nlist < sizeof s->list / sizeof s->list[0])
        s->list[s->nlist++] = *cap;
}

bool qh__shape_fits(const qh__shape *s, const qh__res *need)
{
    if (!qh__res_covers(&s->max, need))
        return false;
    if (s->nlist < s->workers) /* list truncated: the maxima are all we know */
        return true;
    for (uint32_t i = 0; i < s->nlist; i++)
        if (qh__res_covers(&s->list[i], need))
            return true;
    return false;
}

/* Appends a u32 length slot, the value's encoding, then patches the length. */
static qh_status s_put_value_blob(qh__buf *b, const qh_value *v)
{
    size_t at = b->n;
    qh__buf_u32(b, 0);
    QH_CALL(qh__value_pack(v, b));
    if (b->err)
        return QH_ERROR(QH_ENOMEM, "out of memory building a message");
    size_t len = b->n - at - 4;
    if (len > UINT32_MAX)
        return QH_ERROR(QH_ERANGE, "a value of %zu bytes is too large to send", len);
    uint32_t l32 = (uint32_t)len;
    memcpy(b->p + at, &l32, 4);
    return QH_OK;
}

qh_status qh__wire_put_submit_value(qh__buf *b, uint64_t id, const char *name, const qh_target *t,
                                    const uint64_t *deps, uint32_t ndeps, const qh_value *args)
{
    size_t mark = b->n;
    qh__buf_u64(b, id);
    qh__buf_str(b, name);
    s_put_target(b, t);
    qh__buf_u32(b, ndeps);
    qh__buf_put(b, deps, (size_t)ndeps * 8);
    qh_status st = s_put_value_blob(b, args);
    if (st != QH_OK && !b->err)
        b->n = mark; /* drop the half record */
    return st;
}

qh_status qh__wire_put_result_value(qh__buf *b, uint64_t id, qh_status status, const char *message,
                                    const qh_value *value)
{
    size_t mark = b->n;
    qh__buf_u64(b, id);
    qh__buf_u32(b, (uint32_t)status);
    qh__buf_str(b, message);
    if (!value) {
        qh__buf_blob(b, NULL, 0);
        qh__buf_str(b, "");
        qh__buf_u64(b, 0);
        qh__buf_blob(b, NULL, 0);
        return b->err ? QH_ERROR(QH_ENOMEM, "out of memory building a message") : QH_OK;
    }
    size_t at = b->n;
    qh_status st = s_put_value_blob(b, value);
    if (st != QH_OK) {
        if (!b->err)
            b->n = mark;
        return st;
    }
    qh__buf_str(b, "");
    qh__buf_u64(b, b->n - at - 8);
    qh__buf_blob(b, NULL, 0);
    return b->err ? QH_ERROR(QH_ENOMEM, "out of memory building a message") : QH_OK;
}
