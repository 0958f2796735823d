/* Writes the seed inputs of the broker fuzz target (fuzz_broker.c explains their format) into
 * a directory: conversations built with the wire.c encoders — clients and workers saying
 * hello, submitting, running, returning inline and held results, cancelling, releasing and
 * leaving — and the shapes an attacker would send: truncated frames and arguments, huge
 * declared lengths and record counts, a hello offering 999999999 cpus, duplicate task ids,
 * ids outside the sender's range, messages in the wrong role.
 *
 *   gen_broker_seeds DIR
 *
 * The broker numbers peers 1, 2, ... in the order of their hellos, so the seeds know which
 * task ids are in a client's range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distribute/wire.h"

enum { C0 = 0, C1 = 1, W0 = 2, W1 = 3 };         /* peer identities */
enum { U_NONE = 0, U_CLIENT = 1, U_WORKER = 2 }; /* roles the authenticator gave */

typedef struct seed {
    uint8_t data[1 << 16];
    size_t n;
} seed;

static seed S;
static const char *s_dir;

static void s_start(uint8_t settings)
{
    S.n = 0;
    S.data[S.n++] = settings;
}

/* Appends a frame from peer `who` with role `user`, cut to `keep` bytes (SIZE_MAX: all). */
static void s_frame_cut(int who, int user, const qh__buf *m, size_t keep)
{
    size_t len = m->n < keep ? m->n : keep;
    if (S.n + 3 + len > sizeof S.data)
        abort();
    S.data[S.n++] = (uint8_t)(who | user << 2);
    S.data[S.n++] = (uint8_t)(len & 0xff);
    S.data[S.n++] = (uint8_t)(len >> 8);
    memcpy(S.data + S.n, m->p, len);
    S.n += len;
}

static void s_frame(int who, int user, const qh__buf *m)
{
    s_frame_cut(who, user, m, SIZE_MAX);
}

static void s_tick(void)
{
    S.data[S.n++] = 0x80;
}

static void s_write(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(S.data, 1, S.n, f) != S.n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static uint64_t s_id(uint64_t peer_no, uint64_t n)
{
    return peer_no << QH__ID_BITS | n;
}

static void s_hello(qh__buf *m, uint8_t role, double cpu, const char *endpoint)
{
    qh__hello h = {.role = role, .cap = {cpu, 0, 1u << 30}};
    snprintf(h.name, sizeof h.name, "%s", role == QH__ROLE_WORKER ? "node:2" : "node:1");
    snprintf(h.endpoint, sizeof h.endpoint, "%s", endpoint ? endpoint : "");
    qh__wire_begin(m, QH__MSG_HELLO);
    qh__wire_put_hello(m, &h);
    qh__wire_end(m, 1);
}

static const uint8_t s_args[] = {0x92, 0x01, 0xa2, 'h', 'i'}; /* [1, "hi"] */

static void s_submit(qh__buf *m, uint64_t id, double cpu, const uint64_t *deps, uint32_t ndeps)
{
    qh_target t = {.cpu = cpu, .max_retries = 1};
    qh__wire_put_submit(m, id, "square", &t, deps, ndeps, s_args, sizeof s_args);
}

static void s_ids(qh__buf *m, qh__msg_type type, const uint64_t *ids, uint32_t n)
{
    qh__wire_begin(m, type);
    for (uint32_t i = 0; i < n; i++)
        qh__wire_put_id(m, ids[i]);
    qh__wire_end(m, n);
}

static void s_empty(qh__buf *m, qh__msg_type type)
{
    qh__wire_begin(m, type);
    qh__wire_end(m, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_broker_seeds DIR\n");
        return 2;
    }
    s_dir = argv[1];
    qh__buf m = {0};
    const uint8_t value[] = {0x2a}; /* 42 */
    const uint8_t token[QH__TOKEN_LEN] = "0123456789abcdef";
    uint64_t a = s_id(1, 1), b = s_id(1, 2), c = s_id(1, 3);

    /* A whole conversation, plain and with roles checked. */
    for (int secure = 0; secure < 2; secure++) {
        int uc = secure ? U_CLIENT : U_NONE, uw = secure ? U_WORKER : U_NONE;
        s_start((uint8_t)secure);
        s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
        s_frame(C0, uc, &m);
        s_hello(&m, QH__ROLE_WORKER, 4, "tcp://127.0.0.1:5555");
        s_frame(W0, uw, &m);
        qh__wire_begin(&m, QH__MSG_SUBMIT);
        s_submit(&m, a, 1, NULL, 0);
        s_submit(&m, b, 1, &a, 1);
        uint64_t ab[2] = {a, b};
        s_submit(&m, c, 2, ab, 2);
        qh__wire_end(&m, 3);
        s_frame(C0, uc, &m);
        qh__wire_begin(&m, QH__MSG_RESULT);
        qh__wire_put_result(&m, a, QH_OK, "", value, sizeof value);
        qh__wire_end(&m, 1);
        s_frame(W0, uw, &m);
        qh__wire_begin(&m, QH__MSG_RESULT);
        qh__wire_put_result_held(&m, b, "tcp://127.0.0.1:5555", 1 << 20, token);
        qh__wire_end(&m, 1);
        s_frame(W0, uw, &m);
        qh__wire_begin(&m, QH__MSG_RESULT);
        qh__wire_put_result(&m, c, QH_EINVAL, "bad input", NULL, 0);
        qh__wire_end(&m, 1);
        s_frame(W0, uw, &m);
        qh__wire_begin(&m, QH__MSG_HEARTBEAT);
        qh__wire_put_id(&m, 7);
        qh__wire_end(&m, 1);
        s_frame(W0, uw, &m);
        s_empty(&m, QH__MSG_HEARTBEAT);
        s_frame(C0, uc, &m);
        s_tick();
        s_ids(&m, QH__MSG_RELEASE, ab, 2);
        s_frame(C0, uc, &m);
        s_ids(&m, QH__MSG_CANCEL, &c, 1);
        s_frame(C0, uc, &m);
        s_empty(&m, QH__MSG_BYE);
        s_frame(W0, uw, &m);
        s_empty(&m, QH__MSG_BYE);
        s_frame(C0, uc, &m);
        s_write(secure ? "conversation-curve" : "conversation");
    }

    /* Cancel a running and a waiting task; the worker holding a value dies; re-hello. */
    s_start(0);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    s_hello(&m, QH__ROLE_WORKER, 1, "tcp://127.0.0.1:5555");
    s_frame(W0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, a, 1, NULL, 0);
    s_submit(&m, b, 1, &a, 1);
    s_submit(&m, c, 1, NULL, 0);
    qh__wire_end(&m, 3);
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_RESULT);
    qh__wire_put_result_held(&m, a, "tcp://127.0.0.1:5555", 4096, token);
    qh__wire_end(&m, 1);
    s_frame(W0, 0, &m);
    s_ids(&m, QH__MSG_CANCEL, &c, 1);
    s_frame(C0, 0, &m);
    s_ids(&m, QH__MSG_BLOCK, &b, 1);
    s_frame(W0, 0, &m);
    s_hello(&m, QH__ROLE_WORKER, 2, "");
    s_frame(W0, 0, &m);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    s_write("cancel-and-lose");

    /* A hello offering 999999999 cpus, then one with a nonsense role. */
    s_start(0);
    s_hello(&m, QH__ROLE_WORKER, 999999999, "tcp://127.0.0.1:5555");
    s_frame(W0, 0, &m);
    s_hello(&m, 7, 1, NULL);
    s_frame(W1, 0, &m);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, s_id(2, 1), 999999999, NULL, 0);
    qh__wire_end(&m, 1);
    s_frame(C0, 0, &m);
    s_write("hello-huge-cpu");

    /* Duplicate ids in one message and across messages; ids of another client; deps on
     * unknown and foreign tasks. */
    s_start(0);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C1, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, a, 1, NULL, 0);
    s_submit(&m, a, 1, NULL, 0);
    qh__wire_end(&m, 2);
    s_frame(C0, 0, &m);
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, s_id(1, 9), 1, NULL, 0); /* C1 is peer 2 */
    s_submit(&m, s_id(0, 1), 1, NULL, 0);
    s_submit(&m, s_id(2, 1), 1, &a, 1); /* a is C0's */
    uint64_t unknown = s_id(2, 77);
    s_submit(&m, s_id(2, 2), 1, &unknown, 1);
    qh__wire_end(&m, 4);
    s_frame(C1, 0, &m);
    s_ids(&m, QH__MSG_CANCEL, &a, 1); /* not C1's */
    s_frame(C1, 0, &m);
    s_ids(&m, QH__MSG_RELEASE, &a, 1);
    s_frame(C1, 0, &m);
    s_write("ids-duplicate-foreign");

    /* Roles crossed: a client's key says hello as a worker, a worker submits, a client sends
     * results, messages before any hello. */
    s_start(1);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, a, 1, NULL, 0);
    qh__wire_end(&m, 1);
    s_frame(C0, U_CLIENT, &m);
    s_hello(&m, QH__ROLE_WORKER, 4, "tcp://127.0.0.1:5555");
    s_frame(W0, U_CLIENT, &m);
    s_hello(&m, QH__ROLE_WORKER, 4, "tcp://127.0.0.1:5555");
    s_frame(W0, U_WORKER, &m);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, U_CLIENT, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, s_id(2, 1), 1, NULL, 0);
    qh__wire_end(&m, 1);
    s_frame(W0, U_WORKER, &m);
    s_frame(C0, U_WORKER, &m);
    qh__wire_begin(&m, QH__MSG_RESULT);
    qh__wire_put_result(&m, s_id(2, 1), QH_OK, "", value, sizeof value);
    qh__wire_end(&m, 1);
    s_frame(C0, U_CLIENT, &m);
    s_write("roles-crossed");

    /* Malformed frames after a valid hello: truncated submits (in the header, the name, the
     * arguments), a count larger than the records, a huge declared string length, huge
     * dependency count, a record count of 0xffffffff, an unknown type, a wrong version. */
    s_start(0);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    s_hello(&m, QH__ROLE_WORKER, 4, "tcp://127.0.0.1:5555");
    s_frame(W0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, a, 1, NULL, 0);
    qh__wire_end(&m, 1);
    for (size_t keep = 3; keep < m.n; keep += 5)
        s_frame_cut(C0, 0, &m, keep);
    s_frame_cut(C0, 0, &m, m.n - 2); /* inside the MessagePack arguments */
    qh__wire_end(&m, 5);             /* five records claimed, one there */
    s_frame(C0, 0, &m);
    qh__wire_end(&m, 0); /* zero claimed, one there */
    s_frame(C0, 0, &m);
    qh__wire_end(&m, 0xffffffffu);
    s_frame(C0, 0, &m);
    qh__wire_end(&m, 1);
    memset(m.p + 8 + 8, 0xff, 4); /* the name's length */
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, b, 1, &a, 1);
    qh__wire_end(&m, 1);
    {
        /* The dependency count sits right before the one dependency id. */
        for (size_t i = 8; i + 8 <= m.n; i++)
            if (memcmp(m.p + i, &a, 8) == 0 && i >= 4) {
                memset(m.p + i - 4, 0xff, 4);
                break;
            }
    }
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_RESULT);
    qh__wire_put_result(&m, a, QH_OK, "", value, sizeof value);
    qh__wire_end(&m, 1);
    s_frame_cut(W0, 0, &m, m.n - 1);
    memset(m.p + m.n - 5, 0xff, 4); /* the value's length */
    s_frame(W0, 0, &m);
    m.p[3] = 200;
    s_frame(W0, 0, &m);
    m.p[3] = QH__MSG_RESULT;
    m.p[2] = QH__WIRE_VERSION + 1;
    s_frame(W0, 0, &m);
    s_hello(&m, QH__ROLE_WORKER, 4, "tcp://127.0.0.1:5555");
    s_frame_cut(W1, 0, &m, m.n - 10);
    s_write("malformed");

    /* Nobody can run it: a task bigger than any worker, with no grace period. */
    s_start(2);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, a, 64, NULL, 0);
    s_submit(&m, b, 1, &a, 1);
    qh__wire_end(&m, 2);
    s_frame(C0, 0, &m);
    s_tick();
    s_hello(&m, QH__ROLE_WORKER, 2, NULL);
    s_frame(W0, 0, &m);
    s_tick();
    s_write("unfit");

    /* A queued producer canceled after its release, with a dependent waiting; a task that
     * names itself as its dependency (refused at submit), released and canceled. */
    s_start(0);
    s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
    s_frame(C0, 0, &m);
    qh__wire_begin(&m, QH__MSG_SUBMIT);
    s_submit(&m, a, 1, NULL, 0);
    s_submit(&m, b, 1, &a, 1);
    s_submit(&m, c, 1, &c, 1);
    qh__wire_end(&m, 3);
    s_frame(C0, 0, &m);
    s_ids(&m, QH__MSG_RELEASE, (uint64_t[]){a, c}, 2);
    s_frame(C0, 0, &m);
    s_ids(&m, QH__MSG_CANCEL, (uint64_t[]){a, c}, 2);
    s_frame(C0, 0, &m);
    s_write("self-dependency-cancel");

    /* Found by fuzzing: a released task that ends with a failure fails its dependent, which
     * unpinned (and freed) the task while its end was still being handled — here the
     * producer fails on its worker, or its worker leaves with no retries left. */
    for (int lost = 0; lost < 2; lost++) {
        s_start(0);
        s_hello(&m, QH__ROLE_CLIENT, 0, NULL);
        s_frame(C0, 0, &m);
        s_hello(&m, QH__ROLE_WORKER, 1, NULL);
        s_frame(W0, 0, &m);
        qh__wire_begin(&m, QH__MSG_SUBMIT);
        qh_target once = {.cpu = 1, .max_retries = 0};
        qh__wire_put_submit(&m, a, "square", &once, NULL, 0, s_args, sizeof s_args);
        s_submit(&m, b, 1, &a, 1);
        qh__wire_end(&m, 2);
        s_frame(C0, 0, &m);
        s_ids(&m, QH__MSG_RELEASE, &a, 1);
        s_frame(C0, 0, &m);
        if (lost) {
            s_empty(&m, QH__MSG_BYE);
        } else {
            qh__wire_begin(&m, QH__MSG_RESULT);
            qh__wire_put_result(&m, a, QH_ETASK, "it broke", NULL, 0);
            qh__wire_end(&m, 1);
        }
        s_frame(W0, 0, &m);
        s_write(lost ? "crash-end-frees-itself-lost" : "crash-end-frees-itself-failed");
    }

    qh__buf_free(&m);
    return 0;
}
