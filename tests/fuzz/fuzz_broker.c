/* libFuzzer entry point for the broker's handling of incoming messages (clients and workers
 * may be hostile): a detached broker (distribute/broker_impl.h) is fed a sequence of frames,
 * each from one of four peer identities and with the role its key would have been allowed
 * in, and must never crash, leak or send a message that does not frame correctly. It must
 * also keep values to their owners: a successful result (a value, or where a held value is
 * and the token to fetch it) goes only to the client whose task-id range it is in, the range
 * the broker gave that peer in its latest WELCOME.
 *
 * Input: one byte of settings (bit 0: the broker is a CURVE broker and checks roles; bit 1:
 * no grace period for tasks nobody can run), then records. A record is an op byte — bit 7
 * set: a heartbeat tick, nothing follows; else bits 0-1 pick the peer and bits 2-3 its role
 * ("", "client", "worker", "client") — then a little-endian u16 length and that many bytes of
 * frame (fewer if the input ends first). tests/fuzz/gen_broker_seeds.c writes the seeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distribute/broker_impl.h"
#include "distribute/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char s_idents[4][8] = {"peer-0", "peer-1", "peer-2", "peer-3"};

/* What the harness saw the broker send: each peer's latest peer number. */
typedef struct s_seen {
    uint64_t peer_no[4]; /* 0: no WELCOME yet */
} s_seen;

/* Every message the broker sends must open as a well-formed frame, and every successful
 * result must go to the client owning the task. */
static void s_sink(void *ctx, const void *peer, size_t peer_len, const void *msg, size_t len)
{
    s_seen *seen = ctx;
    int who = -1;
    for (int i = 0; i < 4; i++)
        if (peer_len == strlen(s_idents[i]) && memcmp(peer, s_idents[i], peer_len) == 0)
            who = i;
    qh__msg_type type;
    uint32_t count;
    qh__rd rd;
    if (who < 0 || qh__wire_open(msg, len, &type, &count, &rd) != QH_OK)
        abort();
    if (type == QH__MSG_WELCOME) {
        qh__welcome w;
        if (qh__wire_get_welcome(&rd, &w) != QH_OK)
            abort();
        seen->peer_no[who] = w.peer_no;
    } else if (type == QH__MSG_RESULT) {
        for (uint32_t k = 0; k < count; k++) {
            qh__result r;
            if (qh__wire_get_result(&rd, &r) != QH_OK)
                abort();
            if (r.status == QH_OK && r.id >> QH__ID_BITS != seen->peer_no[who])
                abort(); /* another client's value, or its location and token */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const users[4] = {"", "client", "worker", "client"};
    if (size < 1)
        return 0;
    s_seen seen = {{0}};
    qh_broker *b = NULL;
    if (qh__broker_create_detached(data[0] & 1, s_sink, &seen, &b) != QH_OK)
        return 0;
    if (data[0] & 2)
        qh_broker_set_unfit_grace(b, 0);
    size_t at = 1;
    while (at < size) {
        uint8_t op = data[at++];
        if (op & 0x80) {
            qh__broker_tick(b);
            continue;
        }
        size_t len = 0;
        if (at < size)
            len = data[at++];
        if (at < size)
            len |= (size_t)data[at++] << 8;
        if (len > size - at)
            len = size - at;
        /* An exact-size copy, so that ASan sees a read past the frame's end. */
        uint8_t *frame = malloc(len ? len : 1);
        if (!frame)
            break;
        memcpy(frame, data + at, len);
        at += len;
        qh__broker_feed(b, s_idents[op & 3], strlen(s_idents[op & 3]), users[(op >> 2) & 3], frame,
                        len);
        free(frame);
    }
    qh_broker_destroy(&b, false);
    return 0;
}
