/* The device allow-list (helpers/shim/devices.c): the v1 text of the
 * default rules, the shape of the eBPF program made from them, and what
 * that program decides, run on a small interpreter of the few instructions
 * the generator emits (anything else fails the test).  The kernel's
 * verdict on the same program is tests/integration/devices.sh's. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "helpers/shim/devices.h"

#define ROOM 512

/* Run prog on one access; fails the test on any instruction outside the
 * generator's vocabulary, a backward or out-of-range jump, a read of the
 * context after r1 was reused, or an exit with r0 unset. */
static int
run(const struct bpf_insn *p, int n, int type, int access, uint32_t major, uint32_t minor)
{
        struct bpf_cgroup_dev_ctx ctx = {
                .access_type = ((uint32_t)access << 16) | (uint32_t)type, .major = major, .minor = minor};
        uint64_t r[11] = {0};
        bool set[11] = {false}, r1ctx = true;

        set[1] = true;
        for (int pc = 0; pc < n; pc++) {
                const struct bpf_insn *i = &p[pc];
                uint64_t imm = (uint64_t)(int64_t)i->imm;

                if (i->dst_reg > 10 || i->src_reg > 10)
                        fail_msg("insn %d: register out of range", pc);
                switch (i->code) {
                case BPF_LDX | BPF_MEM | BPF_W: {
                        uint32_t v;
                        if (i->src_reg != BPF_REG_1 || !r1ctx || i->off < 0 || i->off % 4 ||
                            (size_t)i->off + 4 > sizeof(ctx))
                                fail_msg("insn %d: load outside the context", pc);
                        memcpy(&v, (char *)&ctx + i->off, 4);
                        r[i->dst_reg] = v;
                        break;
                }
                case BPF_ALU64 | BPF_AND | BPF_K:
                        assert_true(set[i->dst_reg]);
                        r[i->dst_reg] &= imm;
                        break;
                case BPF_ALU64 | BPF_RSH | BPF_K:
                        assert_true(set[i->dst_reg]);
                        r[i->dst_reg] >>= i->imm;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_K:
                        r[i->dst_reg] = imm;
                        break;
                case BPF_ALU64 | BPF_MOV | BPF_X:
                        assert_true(set[i->src_reg]);
                        r[i->dst_reg] = r[i->src_reg];
                        break;
                case BPF_JMP | BPF_JNE | BPF_K:
                        assert_true(set[i->dst_reg]);
                        if (i->off < 0 || pc + 1 + i->off >= n)
                                fail_msg("insn %d: jump by %d leaves the program or goes back", pc, i->off);
                        if (r[i->dst_reg] != imm)
                                pc += i->off;
                        continue;
                case BPF_JMP | BPF_EXIT:
                        if (!set[0])
                                fail_msg("insn %d: exit with r0 unset", pc);
                        return (int)r[0];
                default:
                        fail_msg("insn %d: unexpected opcode 0x%02x", pc, i->code);
                }
                set[i->dst_reg] = true;
                if (i->dst_reg == BPF_REG_1)
                        r1ctx = false;
        }
        fail_msg("fell off the end of the program");
        return -1;
}

static void
test_v1_text(void **state)
{
        static const char *const want[] = {
                "c *:* m",   "b *:* m",   "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",   "c 1:8 rwm",
                "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
        };
        char buf[48];

        (void)state;
        assert_int_equal(shim_devices_ndefault, CNR_ARRAY_LEN(want));
        for (size_t i = 0; i < shim_devices_ndefault; i++)
                assert_string_equal(shim_devices_rule_str(&shim_devices_default[i], buf, sizeof(buf)), want[i]);
        struct shim_dev_rule r = {'a', 4, SHIM_DEV_ANY, SHIM_DEV_READ | SHIM_DEV_WRITE};
        assert_string_equal(shim_devices_rule_str(&r, buf, sizeof(buf)), "a 4:* rw");
}

/* Prologue (loads, the unknown-access test), one block per rule ending in
 * "r0 = 1; exit", then "r0 = 0; exit";
 * each rule's jumps land exactly on the next block. */
static void
test_shape(void **state)
{
        struct bpf_insn p[ROOM];
        struct cnr_err *err = NULL;
        int n = shim_devices_prog(shim_devices_default, shim_devices_ndefault, p, ROOM, &err);
        int exits = 0;

        (void)state;
        assert_int_equal(n, 72); /* 9 + 2 * 6 (mknod rules) + 4 (136:*) + 9 * 5 + 2 */
        assert_true((size_t)n <= SHIM_DEVICES_MAX_INSNS(shim_devices_ndefault));
        for (int k = 0; k < 6; k++)
                assert_true(BPF_CLASS(p[k].code) == BPF_LDX || BPF_CLASS(p[k].code) == BPF_ALU64);
        assert_int_equal(p[0].off, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        assert_int_equal(p[4].off, offsetof(struct bpf_cgroup_dev_ctx, major));
        assert_int_equal(p[5].off, offsetof(struct bpf_cgroup_dev_ctx, minor));
        assert_int_equal(p[8].code, BPF_JMP | BPF_JNE | BPF_K); /* unknown access bits */
        assert_int_equal(9 + p[8].off, n - 2);
        for (int k = 9; k < n; k++) {
                if (p[k].code == (BPF_JMP | BPF_EXIT)) {
                        assert_int_equal(p[k - 1].code, BPF_ALU64 | BPF_MOV | BPF_K);
                        assert_int_equal(p[k - 1].dst_reg, BPF_REG_0);
                        assert_int_equal(p[k - 1].imm, k == n - 1 ? 0 : 1);
                        exits++;
                        continue;
                }
                if (p[k].code == (BPF_JMP | BPF_JNE | BPF_K)) {
                        int end = k + 1;
                        while (p[end].code != (BPF_JMP | BPF_EXIT))
                                end++;
                        assert_int_equal(k + 1 + p[k].off, end + 1); /* the next block */
                }
        }
        assert_int_equal(exits, (int)shim_devices_ndefault + 1);
        /* "c 1:3 rwm": type, major, minor; no access test. */
        assert_int_equal(p[21].code, BPF_JMP | BPF_JNE | BPF_K);
        assert_int_equal(p[21].dst_reg, BPF_REG_2);
        assert_int_equal(p[21].imm, BPF_DEVCG_DEV_CHAR);
        assert_int_equal(p[22].dst_reg, BPF_REG_4);
        assert_int_equal(p[22].imm, 1);
        assert_int_equal(p[23].dst_reg, BPF_REG_5);
        assert_int_equal(p[23].imm, 3);
}

static void
test_verdicts(void **state)
{
        enum { B = BPF_DEVCG_DEV_BLOCK, C = BPF_DEVCG_DEV_CHAR };
        enum { M = BPF_DEVCG_ACC_MKNOD, RD = BPF_DEVCG_ACC_READ, WR = BPF_DEVCG_ACC_WRITE };
        static const struct {
                int type, access;
                uint32_t major, minor;
                int want;
        } cases[] = {
                {C, RD | WR, 1, 3, 1},   /* /dev/null */
                {C, RD, 1, 5, 1},        /* /dev/zero */
                {C, WR, 1, 7, 1},        /* /dev/full */
                {C, RD, 1, 8, 1},        /* /dev/random */
                {C, RD | WR, 1, 9, 1},   /* /dev/urandom */
                {C, RD | WR, 5, 0, 1},   /* /dev/tty */
                {C, RD | WR, 5, 1, 1},   /* /dev/console */
                {C, RD | WR, 5, 2, 1},   /* /dev/ptmx */
                {C, RD | WR, 136, 0, 1}, /* /dev/pts/0 */
                {C, RD | WR, 136, 4095, 1},
                {C, RD | WR, 10, 200, 1}, /* /dev/net/tun */
                {C, M, 1, 1, 1},          /* mknod of anything */
                {B, M, 8, 0, 1},
                {B, RD, 8, 0, 0}, /* /dev/sda */
                {B, WR, 8, 0, 0},
                {B, RD, 1, 3, 0},         /* block 1:3 is not /dev/null */
                {C, RD, 1, 1, 0},         /* /dev/mem */
                {C, RD, 1, 11, 0},        /* /dev/kmsg */
                {C, RD | WR, 10, 229, 0}, /* /dev/fuse */
                {C, RD, 4, 0, 0},         /* /dev/tty0 */
                {C, RD, 5, 3, 0},
                {C, RD, 137, 0, 0},
                {C, RD, 0, 0, 0},
                {C, M | RD, 1, 1, 0}, /* every bit asked must be allowed */
                {C, 8, 1, 3, 0},      /* an access bit unknown today */
                {4, RD, 1, 3, 0},     /* a device type unknown today */
                {C, RD, 0xffffffffu, 3, 0},
        };
        struct bpf_insn p[ROOM];
        struct cnr_err *err = NULL;
        int n = shim_devices_prog(shim_devices_default, shim_devices_ndefault, p, ROOM, &err);

        (void)state;
        assert_true(n > 0);
        for (size_t i = 0; i < CNR_ARRAY_LEN(cases); i++) {
                int got = run(p, n, cases[i].type, cases[i].access, cases[i].major, cases[i].minor);
                if (got != cases[i].want)
                        fail_msg("case %zu (type %d access %d %u:%u): %d, want %d", i, cases[i].type, cases[i].access,
                                 cases[i].major, cases[i].minor, got, cases[i].want);
        }
}

/* Rules beyond the default list: both types, read-only, any major. */
static void
test_other_rules(void **state)
{
        static const struct shim_dev_rule rules[] = {
                {'a', 7, SHIM_DEV_ANY, SHIM_DEV_READ},
                {'b', SHIM_DEV_ANY, 0, SHIM_DEV_READ | SHIM_DEV_WRITE},
        };
        struct bpf_insn p[ROOM];
        struct cnr_err *err = NULL;
        int n = shim_devices_prog(rules, 2, p, ROOM, &err);

        (void)state;
        assert_int_equal(n, 9 + 6 + 7 + 2);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ, 7, 9), 1);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 7, 0), 1);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_WRITE, 7, 0), 0);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE, 259, 0), 1);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_READ, 259, 1), 0);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 259, 0), 0);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_ACC_MKNOD, 259, 0), 0);

        /* An empty list denies everything. */
        n = shim_devices_prog(NULL, 0, p, ROOM, &err);
        assert_int_equal(n, 11);
        assert_int_equal(run(p, n, BPF_DEVCG_DEV_CHAR, BPF_DEVCG_ACC_READ, 1, 3), 0);
}

static void
test_refused(void **state)
{
        static const struct shim_dev_rule bad[][1] = {
                {{'x', 1, 3, SHIM_DEV_RWM}},
                {{'c', -2, 3, SHIM_DEV_RWM}},
                {{'c', 1, -7, SHIM_DEV_RWM}},
                {{'c', 1, 3, 0}},
                {{'c', 1, 3, 8}},
        };
        struct bpf_insn p[ROOM];
        struct cnr_err *err = NULL;

        (void)state;
        for (size_t i = 0; i < CNR_ARRAY_LEN(bad); i++) {
                assert_int_equal(shim_devices_prog(bad[i], 1, p, ROOM, &err), -1);
                assert_non_null(err);
                assert_non_null(strstr(cnr_err_str(err), "out of range"));
                cnr_err_free(&err);
        }
        assert_int_equal(shim_devices_prog(shim_devices_default, shim_devices_ndefault, p, 20, &err), -1);
        assert_non_null(strstr(cnr_err_str(err), "room"));
        cnr_err_free(&err);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_v1_text),     cmocka_unit_test(test_shape),   cmocka_unit_test(test_verdicts),
                cmocka_unit_test(test_other_rules), cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
