/* Internal: a growable byte buffer to write into and a bounds-checked cursor to read from.
 * Both keep a sticky error flag, so a sequence of writes or reads is checked once at the
 * end. Integers are stored little-endian; strings and blobs as a u32 length then bytes.
 * Pure code (no I/O), shared by the MessagePack encoder and the wire framing. */
#ifndef QH_DISTRIBUTE_BUF_H
#define QH_DISTRIBUTE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct qh__buf {
    uint8_t *p; /* bytes written (malloc'd, owned) */
    size_t n;   /* used */
    size_t cap; /* allocated */
    bool err;   /* an allocation failed: contents incomplete */
} qh__buf;

typedef struct qh__rd {
    const uint8_t *p; /* next byte to read */
    size_t left;      /* bytes left */
    bool err;         /* a read ran past the end or met a bad length */
} qh__rd;

static inline bool qh__buf_reserve(qh__buf *b, size_t more)
{
    if (b->err)
        return false;
    if (more > SIZE_MAX / 2 - b->n) {
        b->err = true;
        return false;
    }
    if (b->n + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->err = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static inline void qh__buf_put(qh__buf *b, const void *data, size_t len)
{
    if (len && qh__buf_reserve(b, len)) {
        memcpy(b->p + b->n, data, len);
        b->n += len;
    }
}

static inline void qh__buf_u8(qh__buf *b, uint8_t v)
{
    qh__buf_put(b, &v, 1);
}

/* The project only targets little-endian hosts (x86-64, aarch64), so the in-memory byte
 * order is the wire order. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "qhybrid's wire format assumes a little-endian host"
#endif

static inline void qh__buf_u32(qh__buf *b, uint32_t v)
{
    qh__buf_put(b, &v, 4);
}

static inline void qh__buf_u64(qh__buf *b, uint64_t v)
{
    qh__buf_put(b, &v, 8);
}

static inline void qh__buf_f64(qh__buf *b, double v)
{
    qh__buf_put(b, &v, 8);
}

/* A u32 length then the bytes. */
static inline void qh__buf_blob(qh__buf *b, const void *data, size_t len)
{
    if (len > UINT32_MAX) {
        b->err = true;
        return;
    }
    qh__buf_u32(b, (uint32_t)len);
    qh__buf_put(b, data, len);
}

static inline void qh__buf_str(qh__buf *b, const char *s)
{
    qh__buf_blob(b, s ? s : "", s ? strlen(s) : 0);
}

static inline void qh__buf_free(qh__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static inline qh__rd qh__rd_init(const void *p, size_t len)
{
    qh__rd r = {(const uint8_t *)p, len, false};
    return r;
}

/* Returns a pointer to the next len bytes and skips them, or NULL (and sets err). */
static inline const uint8_t *qh__rd_take(qh__rd *r, size_t len)
{
    if (r->err || len > r->left) {
        r->err = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    r->left -= len;
    return p;
}

static inline uint8_t qh__rd_u8(qh__rd *r)
{
    const uint8_t *p = qh__rd_take(r, 1);
    return p ? *p : 0;
}

static inline uint32_t qh__rd_u32(qh__rd *r)
{
    uint32_t v = 0;
    const uint8_t *p = qh__rd_take(r, 4);
    if (p)
        memcpy(&v, p, 4);
    return v;
}

static inline uint64_t qh__rd_u64(qh__rd *r)
{
    uint64_t v = 0;
    const uint8_t *p = qh__rd_take(r, 8);
    if (p)
        memcpy(&v, p, 8);
    return v;
}

static inline double qh__rd_f64(qh__rd *r)
{
    double v = 0;
    const uint8_t *p = qh__rd_take(r, 8);
    if (p)
        memcpy(&v, p, 8);
    return v;
}

/* A u32 length then the bytes: returns the bytes (not NUL-terminated) and their length. */
static inline const uint8_t *qh__rd_blob(qh__rd *r, uint32_t *len)
{
    *len = qh__rd_u32(r);
    const uint8_t *p = qh__rd_take(r, *len);
    if (!p)
        *len = 0;
    return p ? p : (const uint8_t *)"";
}

#endif
