/* The binary form of qh_value: MessagePack through msgpack-c (the only file that includes
 * msgpack.h). Scalars, strings, bytes, lists and maps map onto MessagePack's own types;
 * dense arrays are one ext blob each (ext 1: doubles, ext 2: complex doubles as re, im
 * pairs, little-endian) so a state vector costs one memcpy, not one encoding per element;
 * a ref is ext 3 holding the task id.
 *
 * Decoding first walks the bytes with a small validator (s_check) before msgpack-c sees
 * them: msgpack-c allocates a container's slots from the count in its header, so 5 hostile
 * bytes claiming 4 billion elements would make it ask for ~100 GB. The walk bounds every
 * count by the bytes left and the nesting by QH__VALUE_MAX_DEPTH, so any input is either
 * rejected with QH_EPARSE or decoded in memory proportional to its size. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "distribute/buf.h"
#include "distribute/value_impl.h"

enum { S_EXT_DOUBLES = 1, S_EXT_COMPLEXES = 2, S_EXT_REF = 3 };

/* msgpack-c write callback: appends to a qh__buf. */
static int s_write(void *data, const char *buf, size_t len)
{
    qh__buf *b = data;
    qh__buf_put(b, buf, len);
    return b->err ? -1 : 0;
}

static int s_pack(msgpack_packer *pk, const qh_value *v, int depth)
{
    /* A container at depth d is level d + 1 for s_check. */
    if ((v->type == QH_VALUE_LIST || v->type == QH_VALUE_MAP) && depth + 1 > QH__VALUE_MAX_DEPTH)
        return -1;
    switch (v->type) {
    case QH_VALUE_NULL:
        return msgpack_pack_nil(pk);
    case QH_VALUE_BOOL:
        return v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case QH_VALUE_INT:
        return msgpack_pack_int64(pk, v->u.i);
    case QH_VALUE_DOUBLE:
        return msgpack_pack_double(pk, v->u.d);
    case QH_VALUE_STRING:
        return msgpack_pack_str_with_body(pk, v->u.s.p, v->u.s.n);
    case QH_VALUE_BYTES:
        return msgpack_pack_bin_with_body(pk, v->u.s.p, v->u.s.n);
    case QH_VALUE_DOUBLES:
    case QH_VALUE_COMPLEXES: {
        size_t bytes = v->u.s.n * (v->type == QH_VALUE_DOUBLES ? 8 : 16);
        int8_t ext = v->type == QH_VALUE_DOUBLES ? S_EXT_DOUBLES : S_EXT_COMPLEXES;
        if (bytes > UINT32_MAX)
            return -1;
        if (msgpack_pack_ext(pk, bytes, ext) != 0)
            return -1;
        return msgpack_pack_ext_body(pk, v->u.s.p, bytes);
    }
    case QH_VALUE_REF:
        if (msgpack_pack_ext(pk, 8, S_EXT_REF) != 0)
            return -1;
        return msgpack_pack_ext_body(pk, &v->u.id, 8);
    case QH_VALUE_LIST:
        if (msgpack_pack_array(pk, v->u.c.n) != 0)
            return -1;
        for (size_t i = 0; i < v->u.c.n; i++)
            if (s_pack(pk, v->u.c.items[i], depth + 1) != 0)
                return -1;
        return 0;
    case QH_VALUE_MAP:
        if (msgpack_pack_map(pk, v->u.c.n) != 0)
            return -1;
        for (size_t i = 0; i < v->u.c.n; i++) {
            const char *k = v->u.c.keys[i];
            if (msgpack_pack_str_with_body(pk, k, strlen(k)) != 0 ||
                s_pack(pk, v->u.c.items[i], depth + 1) != 0)
                return -1;
        }
        return 0;
    }
    return -1;
}

/* Internal (declared in wire.h): appends v's MessagePack form to out. */
qh_status qh__value_pack(const qh_value *v, qh__buf *out);

qh_status qh__value_pack(const qh_value *v, qh__buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_write);
    qh_value nil = {.type = QH_VALUE_NULL};
    if (s_pack(&pk, v ? v : &nil, 0) != 0 || out->err) {
        if (out->err)
            return QH_ERROR(QH_ENOMEM, "out of memory encoding a value");
        return QH_ERROR(QH_EINVAL, "value nested deeper than %d levels or too large to encode",
                        QH__VALUE_MAX_DEPTH);
    }
    return QH_OK;
}

qh_status qh_value_to_msgpack(const qh_value *v, void **out, size_t *len)
{
    qh__buf b = {0};
    qh_status st = qh__value_pack(v, &b);
    if (st != QH_OK) {
        qh__buf_free(&b);
        return st;
    }
    /* Give back the slack of the doubling buffer: encodings are often kept queued. */
    void *p = realloc(b.p, b.n ? b.n : 1);
    *out = p ? p : b.p;
    *len = b.n;
    return QH_OK;
}

/* Reads a big-endian unsigned integer of `size` bytes. */
static int s_be(qh__rd *r, unsigned size, uint64_t *out)
{
    const uint8_t *p = qh__rd_take(r, size);
    if (!p)
        return -1;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v = v << 8 | p[i];
    *out = v;
    return 0;
}

/* Validates one complete MessagePack object covering exactly [data, data+len): every
 * length within the input, every container count no larger than the bytes left (each
 * element takes at least one byte), nesting at most QH__VALUE_MAX_DEPTH. */
static int s_check(const uint8_t *data, size_t len)
{
    qh__rd r = qh__rd_init(data, len);
    uint64_t pending[QH__VALUE_MAX_DEPTH + 2]; /* elements still expected at each level */
    int depth = 0;
    pending[0] = 1;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        uint8_t t = qh__rd_u8(&r);
        if (r.err)
            return -1;
        uint64_t n = 0, skip = 0, count = 0; /* payload bytes, then child elements */
        bool container = false;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            /* fixint, nil, bool: done */
        } else if (t >= 0x80 && t <= 0x8f) {
            container = true, count = 2u * (t & 0x0f);
        } else if (t >= 0x90 && t <= 0x9f) {
            container = true, count = t & 0x0f;
        } else if (t >= 0xa0 && t <= 0xbf) {
            skip = t & 0x1f;
        } else {
            switch (t) {
            case 0xc4:
            case 0xd9:
                if (s_be(&r, 1, &n))
                    return -1;
                skip = n;
                break;
            case 0xc5:
            case 0xda:
                if (s_be(&r, 2, &n))
                    return -1;
                skip = n;
                break;
            case 0xc6:
            case 0xdb:
                if (s_be(&r, 4, &n))
                    return -1;
                skip = n;
                break;
            case 0xc7:
                if (s_be(&r, 1, &n))
                    return -1;
                skip = n + 1;
                break;
            case 0xc8:
                if (s_be(&r, 2, &n))
                    return -1;
                skip = n + 1;
                break;
            case 0xc9:
                if (s_be(&r, 4, &n))
                    return -1;
                skip = n + 1;
                break;
            case 0xca:
                skip = 4;
                break;
            case 0xcb:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break;
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                if (s_be(&r, 2, &n))
                    return -1;
                container = true, count = n;
                break;
            case 0xdd:
                if (s_be(&r, 4, &n))
                    return -1;
                container = true, count = n;
                break;
            case 0xde:
                if (s_be(&r, 2, &n))
                    return -1;
                container = true, count = 2 * n;
                break;
            case 0xdf:
                if (s_be(&r, 4, &n))
                    return -1;
                container = true, count = 2 * n;
                break;
            default:
                return -1; /* 0xc1: never used */
            }
        }
        if (skip && !qh__rd_take(&r, skip))
            return -1;
        if (container && count) {
            if (count > r.left || depth + 1 > QH__VALUE_MAX_DEPTH)
                return -1;
            pending[++depth] = count;
        }
    }
    return r.left == 0 ? 0 : -1;
}

static uint64_t s_fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* Whether a MessagePack map repeats a key (such a map has no single meaning: refused).
 * Small maps are checked pairwise, large ones through a temporary hash table. */
static int s_dup_keys(const msgpack_object_map *m)
{
    uint32_t n = m->size;
    if (n <= 32) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < i; j++)
                if (m->ptr[i].key.via.str.size == m->ptr[j].key.via.str.size &&
                    (m->ptr[i].key.via.str.size == 0 ||
                     memcmp(m->ptr[i].key.via.str.ptr, m->ptr[j].key.via.str.ptr,
                            m->ptr[i].key.via.str.size) == 0))
                    return 1;
        return 0;
    }
    size_t cap = 64;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    uint32_t *slot = calloc(cap, sizeof *slot); /* index + 1, 0 = empty */
    if (!slot)
        return -1;
    int dup = 0;
    for (uint32_t i = 0; i < n && !dup; i++) {
        const msgpack_object_str *k = &m->ptr[i].key.via.str;
        size_t at = s_fnv(k->ptr, k->size) & (cap - 1);
        while (slot[at]) {
            const msgpack_object_str *o = &m->ptr[slot[at] - 1].key.via.str;
            if (o->size == k->size && (k->size == 0 || memcmp(o->ptr, k->ptr, k->size) == 0)) {
                dup = 1;
                break;
            }
            at = (at + 1) & (cap - 1);
        }
        slot[at] = i + 1;
    }
    free(slot);
    return dup;
}

static qh_status s_convert(const msgpack_object *o, qh_value **out)
{
    qh_value *v = NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        v = qh_value_null();
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        v = qh_value_bool(o->via.boolean);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX)
            return QH_ERROR(QH_EPARSE, "integer %llu is beyond the int64 range",
                            (unsigned long long)o->via.u64);
        v = qh_value_int((int64_t)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v = qh_value_int(o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v = qh_value_double(o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        v = qh_value_string_n(o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        v = qh_value_bytes(o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_EXT: {
        size_t size = o->via.ext.size;
        if (o->via.ext.type == S_EXT_DOUBLES && size % 8 == 0) {
            v = qh__value_new_blob(QH_VALUE_DOUBLES, size / 8);
        } else if (o->via.ext.type == S_EXT_COMPLEXES && size % 16 == 0) {
            v = qh__value_new_blob(QH_VALUE_COMPLEXES, size / 16);
        } else if (o->via.ext.type == S_EXT_REF && size == 8) {
            uint64_t id;
            memcpy(&id, o->via.ext.ptr, 8);
            v = qh_value_ref_id(id);
            break;
        } else {
            return QH_ERROR(QH_EPARSE, "unknown MessagePack extension %d of %zu bytes",
                            o->via.ext.type, size);
        }
        if (v && size)
            memcpy(v->u.s.p, o->via.ext.ptr, size);
        break;
    }
    case MSGPACK_OBJECT_ARRAY:
        v = qh_value_list();
        for (uint32_t i = 0; v && i < o->via.array.size; i++) {
            qh_value *item = NULL;
            qh_status st = s_convert(&o->via.array.ptr[i], &item);
            if (st == QH_OK)
                st = qh_value_push(v, &item);
            if (st != QH_OK) {
                qh_value_destroy(&item);
                qh_value_destroy(&v);
                return st;
            }
        }
        break;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
                return QH_ERROR(QH_EPARSE, "map key is not a string");
        switch (s_dup_keys(&o->via.map)) {
        case 1:
            return QH_ERROR(QH_EPARSE, "map with a repeated key");
        case -1:
            return QH_ERROR(QH_ENOMEM, "out of memory decoding a map");
        default:
            break;
        }
        v = qh_value_map();
        for (uint32_t i = 0; v && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            uint32_t klen = kv->key.via.str.size;
            /* Keys are C strings: a NUL inside would silently cut them. */
            if (kv->key.type != MSGPACK_OBJECT_STR ||
                (klen && memchr(kv->key.via.str.ptr, 0, klen))) {
                qh_value_destroy(&v);
                return QH_ERROR(QH_EPARSE, "map key is not a string without NUL bytes");
            }
            qh_value *item = NULL;
            char *key = klen ? strndup(kv->key.via.str.ptr, klen) : strdup("");
            qh_status st = key ? s_convert(&kv->val, &item) : QH_ENOMEM;
            if (st == QH_OK)
                st = qh__value_map_append(v, key, &item);
            if (st != QH_OK) {
                free(key);
                qh_value_destroy(&item);
                qh_value_destroy(&v);
                return st == QH_ENOMEM ? QH_ERROR(QH_ENOMEM, "out of memory decoding") : st;
            }
        }
        break;
    default:
        return QH_ERROR(QH_EPARSE, "unsupported MessagePack type %d", (int)o->type);
    }
    if (!v)
        return QH_ENOMEM;
    *out = v;
    return QH_OK;
}

qh_status qh_value_from_msgpack(const void *data, size_t len, qh_value **out)
{
    *out = NULL;
    if (!data || len == 0)
        return QH_ERROR(QH_EPARSE, "empty MessagePack input");
    if (s_check(data, len) != 0)
        return QH_ERROR(QH_EPARSE, "malformed MessagePack value (%zu bytes)", len);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&up, data, len, &off);
    qh_status st;
    if (r == MSGPACK_UNPACK_SUCCESS && off == len)
        st = s_convert(&up.data, out);
    else if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        st = QH_ERROR(QH_ENOMEM, "out of memory decoding MessagePack");
    else
        st = QH_ERROR(QH_EPARSE, "malformed MessagePack value (%zu bytes)", len);
    msgpack_unpacked_destroy(&up);
    return st;
}
