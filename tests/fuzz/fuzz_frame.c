/* Fuzz target for the IPC frame decoder (ipc/frame.c).
 *
 * Every input is run through cnr_frame_parse and then decoded as each of
 * the channel envelopes.  Invariants, not just "no crash":
 *   - the header parses iff it is long enough, has our version and a
 *     non-zero type, and the parsed fields are the little-endian values at
 *     their offsets;
 *   - a failure returns -1 / NULL with an error that has an errno code and
 *     a non-empty message (EPROTO for the header, EBADMSG for the body);
 *   - a decoded envelope's oneof case equals the header type, it passes
 *     protobuf_c_message_check, and encoding it again with
 *     cnr_frame_encode (same header, cap exactly its size) and decoding
 *     that yields the same packed body.
 *
 * Built two ways: with --enable-fuzzing as a libFuzzer binary
 * (tests/fuzz/fuzz_frame), and always with tests/fuzz/replay.c as
 * tests/fuzz/replay_frame, which `make check` runs over the corpus. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ipc/api.pb-c.h"
#include "ipc/common.pb-c.h"
#include "ipc/frame.h"
#include "ipc/helper.pb-c.h"
#include "ipc/monitor.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                            \
        do {                                                                                                   \
                if (!(cond)) {                                                                                 \
                        fprintf(stderr, "fuzz_frame: invariant failed: %s (%s:%d)\n", #cond, __FILE__,       \
                                __LINE__);                                                                     \
                        abort();                                                                               \
                }                                                                                              \
        } while (0)

static const ProtobufCMessageDescriptor *const envelopes[] = {
        &cnr__api__request__descriptor,    &cnr__helper__to_helper__descriptor,
        &cnr__helper__from_helper__descriptor, &cnr__mon__to_monitor__descriptor,
        &cnr__mon__from_monitor__descriptor,   &cnr__log_channel__descriptor,
};

static void
check_failure(struct cnr_err **err, int code)
{
        CHECK(*err != NULL);
        CHECK((*err)->code == code);
        CHECK((*err)->msg != NULL && (*err)->msg[0] != '\0');
        CHECK(cnr_err_str(*err)[0] != '\0');
        cnr_err_free(err);
        CHECK(*err == NULL);
}

static uint8_t *
pack(const ProtobufCMessage *m, size_t *len)
{
        uint8_t *buf;

        *len = protobuf_c_message_get_packed_size(m);
        buf = xmalloc(*len);
        CHECK(protobuf_c_message_pack(m, buf) == *len);
        return buf;
}

static void
check_reencode(const struct cnr_frame *f, const uint8_t *hdr, const ProtobufCMessageDescriptor *desc,
               const ProtobufCMessage *m)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f2;
        ProtobufCMessage *m2;
        size_t plen, plen2, len;
        uint8_t *p1, *p2, *buf;

        p1 = pack(m, &plen);

        /* one byte under the exact size is refused */
        if (plen > 0) {
                CHECK(cnr_frame_encode(f->type, f->reqid, m, CNR_IPC_HDR_LEN + plen - 1, &len, &err) == NULL);
                check_failure(&err, EMSGSIZE);
        }
        buf = cnr_frame_encode(f->type, f->reqid, m, CNR_IPC_HDR_LEN + plen, &len, &err);
        CHECK(buf != NULL);
        CHECK(err == NULL);
        CHECK(len == CNR_IPC_HDR_LEN + plen);
        CHECK(memcmp(buf, hdr, CNR_IPC_HDR_LEN) == 0);
        CHECK(memcmp(buf + CNR_IPC_HDR_LEN, p1, plen) == 0);

        memset(&f2, 0, sizeof(f2));
        CHECK(cnr_frame_parse(buf, len, &f2, &err) == 0);
        CHECK(f2.type == f->type && f2.reqid == f->reqid && f2.len == plen);
        m2 = cnr_frame_decode(&f2, desc, &err);
        CHECK(m2 != NULL);
        CHECK(err == NULL);
        CHECK(cnr_envelope_case(m2) == f->type);
        p2 = pack(m2, &plen2);
        CHECK(plen2 == plen);
        CHECK(memcmp(p1, p2, plen) == 0);

        free(p2);
        protobuf_c_message_free_unpacked(m2, NULL);
        free(buf);
        free(p1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct cnr_err *err = NULL;
        struct cnr_frame f;
        bool valid;
        int r;

        memset(&f, 0, sizeof(f));
        r = cnr_frame_parse(data, size, &f, &err);
        valid = size >= CNR_IPC_HDR_LEN && data[0] == CNR_IPC_PROTOCOL && data[1] == 0 &&
                (data[2] != 0 || data[3] != 0);
        if (!valid) {
                CHECK(r == -1);
                check_failure(&err, EPROTO);
                return 0;
        }
        CHECK(r == 0);
        CHECK(err == NULL);
        CHECK(f.version == CNR_IPC_PROTOCOL);
        CHECK(f.type == (uint16_t)(data[2] | data[3] << 8));
        CHECK(f.reqid == ((uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                          (uint32_t)data[7] << 24));
        CHECK(f.body == data + CNR_IPC_HDR_LEN);
        CHECK(f.len == size - CNR_IPC_HDR_LEN);
        CHECK(f.nfds == 0);

        for (size_t i = 0; i < CNR_ARRAY_LEN(envelopes); i++) {
                ProtobufCMessage *m = cnr_frame_decode(&f, envelopes[i], &err);

                if (m == NULL) {
                        check_failure(&err, EBADMSG);
                        continue;
                }
                CHECK(err == NULL);
                CHECK(m->descriptor == envelopes[i]);
                CHECK(cnr_envelope_case(m) == f.type);
                CHECK(protobuf_c_message_check(m));
                check_reencode(&f, data, envelopes[i], m);
                protobuf_c_message_free_unpacked(m, NULL);
        }
        return 0;
}
