/* Unit tests for ipc/permit.[ch]: a table of frames against a permit table
 * shaped like a helper channel's, each with the expected decision. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "ipc/permit.h"

static void
dummy_handler(struct cnr_peer *peer, struct cnr_frame *f, ProtobufCMessage *env, void *arg)
{
}

enum { T_HELLO = 1, T_PING = 2, T_MOUNT = 3, T_PASS2 = 4, T_REPLY = 5, T_REPLY_FD = 6, T_UNKNOWN = 9 };

static const struct cnr_permit table[] = {
        {T_HELLO, CNR_PERMIT_HELLO, 0, "hello", dummy_handler},
        {T_PING, 0, 0, "ping", dummy_handler},
        {T_MOUNT, 0, 1, "mount", dummy_handler},
        {T_PASS2, 0, 2, "pass2", dummy_handler},
        {T_REPLY, CNR_PERMIT_REPLY, 0, "reply", NULL},
        {T_REPLY_FD, CNR_PERMIT_REPLY, 1, "reply_fd", NULL},
};

struct permit_case {
        const char *what;
        uint16_t type;
        bool hello_done;
        size_t nfds;
        int want;               /* 0 or -1 */
        const char *msg_has;    /* substring of the error message */
};

static const struct permit_case cases[] = {
        {"hello first", T_HELLO, false, 0, 0, NULL},
        {"hello again", T_HELLO, true, 0, -1, "after the handshake"},
        {"hello with an fd", T_HELLO, false, 1, -1, "carries 1 fds, expected 0"},
        {"ping after hello", T_PING, true, 0, 0, NULL},
        {"ping before hello", T_PING, false, 0, -1, "before the handshake"},
        {"reply before hello", T_REPLY, false, 0, -1, "before the handshake"},
        {"unknown type", T_UNKNOWN, true, 0, -1, "type 9 is not permitted"},
        {"unknown type before hello", T_UNKNOWN, false, 0, -1, "not permitted"},
        {"type 0", 0, true, 0, -1, "not permitted"},
        {"max type", UINT16_MAX, true, 0, -1, "not permitted"},
        {"mount with its fd", T_MOUNT, true, 1, 0, NULL},
        {"mount without fd", T_MOUNT, true, 0, -1, "carries 0 fds, expected 1"},
        {"mount with 2 fds", T_MOUNT, true, 2, -1, "carries 2 fds, expected 1"},
        {"ping with an fd", T_PING, true, 1, -1, "carries 1 fds, expected 0"},
        {"pass2 with 2", T_PASS2, true, 2, 0, NULL},
        {"pass2 with 1", T_PASS2, true, 1, -1, "expected 2"},
        {"pass2 with max", T_PASS2, true, CNR_IPC_MAX_FDS, -1, "expected 2"},
        {"reply", T_REPLY, true, 0, 0, NULL},
        {"reply with a stray fd", T_REPLY, true, 1, -1, "expected 0"},
        {"reply_fd", T_REPLY_FD, true, 1, 0, NULL},
        {"reply_fd without its fd", T_REPLY_FD, true, 0, -1, "expected 1"},
};

static void
test_permit_table(void **state)
{
        for (size_t i = 0; i < CNR_ARRAY_LEN(cases); i++) {
                const struct permit_case *c = &cases[i];
                const struct cnr_permit *p = (const void *)1;
                struct cnr_err *err = NULL;
                struct cnr_frame f;
                int r;

                memset(&f, 0, sizeof(f));
                f.version = CNR_IPC_PROTOCOL;
                f.type = c->type;
                f.nfds = c->nfds;
                r = cnr_permit_check(table, CNR_ARRAY_LEN(table), c->hello_done, &f, &p, &err);
                if (r != c->want)
                        fail_msg("%s: got %d (%s), want %d", c->what, r, err ? err->msg : "no error", c->want);
                if (c->want == 0) {
                        assert_null(err);
                        assert_non_null(p);
                        assert_int_equal(p->type, c->type);
                        continue;
                }
                assert_null(p);
                assert_non_null(err);
                assert_int_equal(err->code, EPERM);
                if (strstr(err->msg, c->msg_has) == NULL)
                        fail_msg("%s: message `%s` lacks `%s`", c->what, err->msg, c->msg_has);
                cnr_err_free(&err);
        }
}

/* The reply flag travels with the permit: the peer routes on it. */
static void
test_permit_reply_flag(void **state)
{
        const struct cnr_permit *p;
        struct cnr_err *err = NULL;
        struct cnr_frame f;

        memset(&f, 0, sizeof(f));
        f.type = T_REPLY;
        assert_int_equal(cnr_permit_check(table, CNR_ARRAY_LEN(table), true, &f, &p, &err), 0);
        assert_true(p->flags & CNR_PERMIT_REPLY);
        assert_null(p->handler);
        f.type = T_PING;
        assert_int_equal(cnr_permit_check(table, CNR_ARRAY_LEN(table), true, &f, &p, &err), 0);
        assert_false(p->flags & CNR_PERMIT_REPLY);
        assert_ptr_equal(p->handler, dummy_handler);
        assert_null(err);
}

static void
test_permit_find(void **state)
{
        assert_ptr_equal(cnr_permit_find(table, CNR_ARRAY_LEN(table), T_HELLO), &table[0]);
        assert_ptr_equal(cnr_permit_find(table, CNR_ARRAY_LEN(table), T_REPLY_FD), &table[5]);
        assert_null(cnr_permit_find(table, CNR_ARRAY_LEN(table), T_UNKNOWN));
        assert_null(cnr_permit_find(table, 0, T_HELLO));
        assert_null(cnr_permit_find(NULL, 0, T_HELLO));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_permit_table),
                cmocka_unit_test(test_permit_reply_flag),
                cmocka_unit_test(test_permit_find),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
