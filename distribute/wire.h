/* Internal: the messages clients, the broker and workers exchange, and their framing.
 *
 * A message is one ZeroMQ frame: a 4-byte header ('Q', 'H', version, type), a u32 record
 * count, then that many records of the type's layout (little-endian integers, u32-length
 * strings and blobs). Records are batched: one SUBMIT carries every task a client queued
 * since the last send, one RESULT every result a worker finished. Values travel as their
 * MessagePack encoding (qh__value_pack), opaque to the broker.
 *
 * A result can also say where its value is instead of carrying it: a worker keeps large
 * values and names its peer endpoint (a ROUTER of its own), from which other workers and
 * clients FETCH them directly; the broker only passes the endpoint and the size on.
 *
 * Pure code: building and reading messages needs no socket (tests/distribute/test_wire.c).
 * Readers never trust the input: every length is checked and a bad message is QH_EPARSE.
 */
#ifndef QH_DISTRIBUTE_WIRE_H
#define QH_DISTRIBUTE_WIRE_H

#include <stdint.h>

#include "distribute/buf.h"
#include "qhybrid/status.h"
#include "qhybrid/task.h"
#include "qhybrid/value.h"

#define QH__WIRE_VERSION 3
#define QH__NAME_MAX     128 /* task names, worker names: bytes including the NUL */
#define QH__ENDPOINT_MAX 256 /* peer endpoints: bytes including the NUL */
/* The capability of a held value: random bytes its holder chose when it kept the value and
 * that a fetcher must present (see peer.h). */
#define QH__TOKEN_LEN 16

/* Heartbeat interval (ms): $QH_HEARTBEAT_MS or 500. The broker tells every peer its own in
 * WELCOME; peers are declared gone after QH__LIVENESS intervals of silence. */
unsigned qh__heartbeat_ms(void);
#define QH__LIVENESS 6

typedef enum qh__msg_type {
    QH__MSG_HELLO = 1, /* client/worker → broker: who I am (one hello record) */
    QH__MSG_WELCOME,   /* broker → client/worker: your number, heartbeat, pool shape */
    QH__MSG_SUBMIT,    /* client → broker: submit records */
    QH__MSG_RUN,       /* broker → worker: run records */
    QH__MSG_RESULT,    /* worker → broker, broker → client: result records */
    QH__MSG_CANCEL,    /* client → broker, broker → worker: id records */
    QH__MSG_RELEASE,   /* client → broker: results the client no longer needs (id records) */
    QH__MSG_POOL,      /* broker → clients: the pool's shape changed (one shape record) */
    QH__MSG_HEARTBEAT, /* both ways, no records */
    QH__MSG_SHUTDOWN,  /* broker → worker: exit (no records) */
    QH__MSG_BYE,       /* client/worker → broker: leaving (no records) */
    QH__MSG_BLOCK,     /* worker → broker: tasks waiting inside get (id records) */
    QH__MSG_UNBLOCK,   /* worker → broker: those tasks run again (id records) */
    QH__MSG_FETCH,     /* anyone → a worker's peer endpoint: these values (id + token) */
    QH__MSG_VALUE,     /* worker → fetcher: the values asked for (result records) */
    QH__MSG_DROP,      /* broker → worker: held values nobody needs any more (ids) */
} qh__msg_type;

enum { QH__ROLE_CLIENT = 1, QH__ROLE_WORKER = 2 };

/* A task id is (the client's peer number from WELCOME) << QH__ID_BITS | (the client's count):
 * the broker refuses ids outside the submitting client's range. */
#define QH__ID_BITS 40

/* What one worker may offer: more than any machine has, bounded so that sums over workers
 * stay finite and exact (a hello beyond them is malformed). Pool totals saturate. */
#define QH__CPU_MAX       65536.0
#define QH__GPU_MAX       1024u
#define QH__MEM_MAX       (UINT64_C(1) << 50)
#define QH__TOTAL_CPU_MAX 1e8

/* What a worker offers or a task needs. */
typedef struct qh__res {
    double cpu;
    uint32_t gpu;
    uint64_t mem;
} qh__res;

typedef struct qh__hello {
    uint8_t role;                    /* QH__ROLE_* */
    char name[QH__NAME_MAX];         /* host:pid, for messages */
    qh__res cap;                     /* worker: what it offers */
    char endpoint[QH__ENDPOINT_MAX]; /* worker: its peer endpoint, "" when it holds nothing */
} qh__hello;

/* The pool as clients need it: enough to refuse a target no worker can ever meet. */
typedef struct qh__shape {
    uint32_t workers; /* workers connected */
    qh__res max;      /* per resource, the most any one worker offers */
    qh__res total;    /* sums over workers */
    /* Whether some single worker covers each target: the largest of each resource may sit
     * on different workers, so the broker also keeps the full list (up to 64 workers
     * here; beyond that, clients check against `max` only). */
    uint32_t nlist;
    qh__res list[64];
} qh__shape;

typedef struct qh__welcome {
    uint64_t peer_no;      /* unique per broker: clients put it in the top bits of task ids */
    uint32_t heartbeat_ms; /* the interval both sides keep */
    qh__shape shape;       /* the pool now */
} qh__welcome;

/* A task as a client submits it. Pointers borrow the message being read. */
typedef struct qh__submit {
    uint64_t id;             /* client-chosen in its range (peer_no << QH__ID_BITS | n) */
    char name[QH__NAME_MAX]; /* registered task name */
    qh_target target;        /* cpu, gpu, mem, max_retries, priority */
    uint32_t ndeps;          /* ids this task waits for */
    const uint8_t *deps;     /* ndeps little-endian u64 (read with qh__wire_dep) */
    const uint8_t *args;     /* MessagePack list */
    uint32_t args_len;
} qh__submit;

/* A task as the broker hands it to a worker, with the results it depends on. */
typedef struct qh__run {
    uint64_t id;
    char name[QH__NAME_MAX];
    qh_target target;
    const uint8_t *args;
    uint32_t args_len;
    uint32_t ndeps; /* dependency records follow, read with qh__wire_next_dep */
    qh__rd deps;    /* cursor over them */
} qh__run;

/* One dependency of a run record: its value inline, or where it is held. */
typedef struct qh__dep {
    uint64_t id;
    const uint8_t *value; /* MessagePack value; empty when held elsewhere */
    uint32_t len;
    const char *holder; /* peer endpoint holding the value (not NUL-terminated), or empty */
    uint32_t holder_len;
    uint64_t size;        /* the value's encoded size */
    const uint8_t *token; /* held: QH__TOKEN_LEN bytes to fetch it with; NULL when inline */
} qh__dep;

/* A finished task. */
typedef struct qh__result {
    uint64_t id;
    uint32_t status;     /* qh_status: QH_OK or the failure */
    const char *message; /* failure text (not NUL-terminated), message_len bytes */
    uint32_t message_len;
    const uint8_t *value; /* MessagePack value (empty on failure or when held) */
    uint32_t value_len;
    const char *holder;   /* held: the peer endpoint that has the value (not NUL-terminated) */
    uint32_t holder_len;  /* 0: the value is inline (or the task failed) */
    uint64_t size;        /* the value's encoded size, inline or held */
    const uint8_t *token; /* held: QH__TOKEN_LEN bytes to fetch it with; NULL otherwise */
} qh__result;

/* ---- writing: begin, add records, end ---- */

/* Starts a message of `type` in b (cleared first). */
void qh__wire_begin(qh__buf *b, qh__msg_type type);
/* Patches the record count into the header; returns QH_ENOMEM if any write failed. */
qh_status qh__wire_end(qh__buf *b, uint32_t count);

void qh__wire_put_hello(qh__buf *b, const qh__hello *h);
void qh__wire_put_welcome(qh__buf *b, const qh__welcome *w);
void qh__wire_put_shape(qh__buf *b, const qh__shape *s);
/* deps: ndeps ids; args: MessagePack bytes. */
void qh__wire_put_submit(qh__buf *b, uint64_t id, const char *name, const qh_target *t,
                         const uint64_t *deps, uint32_t ndeps, const void *args, size_t args_len);
/* A run record: begin it, add its ndeps (id, value) pairs, nothing else in between. */
void qh__wire_put_run(qh__buf *b, uint64_t id, const char *name, const qh_target *t,
                      const void *args, size_t args_len, uint32_t ndeps);
/* A dependency: its value inline (holder NULL or "", token NULL) or the holder's endpoint,
 * the value's size and its token (QH__TOKEN_LEN bytes). */
void qh__wire_put_dep(qh__buf *b, uint64_t id, const void *value, size_t len, const char *holder,
                      uint64_t size, const uint8_t *token);
void qh__wire_put_result(qh__buf *b, uint64_t id, qh_status status, const char *message,
                         const void *value, size_t value_len);
/* A successful result whose value (size bytes) stays at `holder`, fetched with `token`
 * (QH__TOKEN_LEN bytes). */
void qh__wire_put_result_held(qh__buf *b, uint64_t id, const char *holder, uint64_t size,
                              const uint8_t *token);
void qh__wire_put_id(qh__buf *b, uint64_t id);
/* A FETCH record: the task whose value is wanted and the token it was announced with. */
void qh__wire_put_fetch(qh__buf *b, uint64_t id, const uint8_t token[QH__TOKEN_LEN]);

/* ---- reading ---- */

/* Checks the header; gives the type, the record count and a cursor on the first record. */
qh_status qh__wire_open(const void *data, size_t len, qh__msg_type *type, uint32_t *count,
                        qh__rd *rd);
/* Each reads the next record; QH_EPARSE (with a message) on a malformed one. */
qh_status qh__wire_get_hello(qh__rd *rd, qh__hello *h);
qh_status qh__wire_get_welcome(qh__rd *rd, qh__welcome *w);
qh_status qh__wire_get_shape(qh__rd *rd, qh__shape *s);
qh_status qh__wire_get_submit(qh__rd *rd, qh__submit *s);
qh_status qh__wire_get_run(qh__rd *rd, qh__run *r);
qh_status qh__wire_get_result(qh__rd *rd, qh__result *r);
qh_status qh__wire_get_id(qh__rd *rd, uint64_t *id);
/* *token points at QH__TOKEN_LEN bytes of the message. */
qh_status qh__wire_get_fetch(qh__rd *rd, uint64_t *id, const uint8_t **token);
/* The i-th dependency id of a submit record. */
uint64_t qh__wire_dep(const qh__submit *s, uint32_t i);
/* The next dependency of a run record (call r->ndeps times). */
qh_status qh__wire_next_dep(qh__run *r, qh__dep *d);

/* The shape with one more worker, recomputed: used by the broker and tested alone. */
void qh__shape_add(qh__shape *s, const qh__res *cap);
/* Whether some worker of the shape could ever run a task needing `need`. */
bool qh__shape_fits(const qh__shape *s, const qh__res *need);
/* Whether `cap` covers `need` (with a tolerance on fractional cpus). */
bool qh__res_covers(const qh__res *cap, const qh__res *need);

/* Appends v's MessagePack encoding to out (value_msgpack.c). */
qh_status qh__value_pack(const qh_value *v, qh__buf *out);

/* A submit record whose arguments are encoded straight into the message (no copy). */
qh_status qh__wire_put_submit_value(qh__buf *b, uint64_t id, const char *name, const qh_target *t,
                                    const uint64_t *deps, uint32_t ndeps, const qh_value *args);
/* A result record whose value is encoded straight into the message (NULL value: failure
 * with message). */
qh_status qh__wire_put_result_value(qh__buf *b, uint64_t id, qh_status status, const char *message,
                                    const qh_value *value);

#endif
