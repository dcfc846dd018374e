/* The device allow-list: rules, their v1 text, and the cgroup v2 eBPF
 * program made from them (devices.h explains who uses what).
 *
 * The program, for a context struct bpf_cgroup_dev_ctx {access_type,
 * major, minor} in r1:
 *
 *     r2 = ctx->access_type & 0xffff      device type (BPF_DEVCG_DEV_*)
 *     r3 = ctx->access_type >> 16         access asked (BPF_DEVCG_ACC_*)
 *     r4 = ctx->major
 *     r5 = ctx->minor
 *     r1 = r3; r1 &= ~rwm
 *     if r1 != 0 goto deny                an access bit unknown today
 *   for each rule:                        (a failed test jumps to the next)
 *     if r2 != TYPE goto next             unless the rule is for both types
 *     r1 = r3; r1 &= ~ACCESS
 *     if r1 != 0 goto next                unless the rule allows rwm
 *     if r4 != MAJOR goto next            unless any major
 *     if r5 != MINOR goto next            unless any minor
 *     r0 = 1; exit                        allowed
 *   next: ...
 *   deny:
 *     r0 = 0; exit                        no rule matched: denied
 *
 * No helper call, no map, no loop: straight-line code with forward jumps
 * only, which every verifier since 4.15 accepts. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/util.h"
#include "helpers/shim/devices.h"

const struct shim_dev_rule shim_devices_default[] = {
        {'c', SHIM_DEV_ANY, SHIM_DEV_ANY, SHIM_DEV_MKNOD}, /* mknod of any node: using it is what counts */
        {'b', SHIM_DEV_ANY, SHIM_DEV_ANY, SHIM_DEV_MKNOD},
        {'c', 1, 3, SHIM_DEV_RWM},              /* /dev/null */
        {'c', 1, 5, SHIM_DEV_RWM},              /* /dev/zero */
        {'c', 1, 7, SHIM_DEV_RWM},              /* /dev/full */
        {'c', 1, 8, SHIM_DEV_RWM},              /* /dev/random */
        {'c', 1, 9, SHIM_DEV_RWM},              /* /dev/urandom */
        {'c', 5, 0, SHIM_DEV_RWM},              /* /dev/tty */
        {'c', 5, 1, SHIM_DEV_RWM},              /* /dev/console */
        {'c', 5, 2, SHIM_DEV_RWM},              /* /dev/ptmx */
        {'c', 136, SHIM_DEV_ANY, SHIM_DEV_RWM}, /* /dev/pts/N */
        {'c', 10, 200, SHIM_DEV_RWM},           /* /dev/net/tun */
};
const size_t shim_devices_ndefault = CNR_ARRAY_LEN(shim_devices_default);

int
shim_devices_access(const char *s)
{
        int bits = 0;

        for (; *s; s++) {
                int b = *s == 'r' ? SHIM_DEV_READ : *s == 'w' ? SHIM_DEV_WRITE : *s == 'm' ? SHIM_DEV_MKNOD : 0;
                if (b == 0 || (bits & b))
                        return -1;
                bits |= b;
        }
        return bits ? bits : -1;
}

int
shim_devices_rule_fd(int fd, const char *access, const char *what, struct shim_dev_rule *out, struct cnr_err **err)
{
        int acc = shim_devices_access(access);
        struct stat st;

        if (acc < 0)
                return cnr_errf(err, EINVAL, "device `%s`: access `%s` is not a subset of rwm", what, access);
        if (fstat(fd, &st) < 0)
                return cnr_errf(err, errno, "device `%s`", what);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return cnr_errf(err, EINVAL, "device `%s`: the host path is not a character or block device", what);
        out->type = S_ISCHR(st.st_mode) ? 'c' : 'b';
        out->major = (int32_t)major(st.st_rdev);
        out->minor = (int32_t)minor(st.st_rdev);
        out->access = (unsigned)acc;
        return 0;
}

const char *
shim_devices_rule_str(const struct shim_dev_rule *r, char *buf, size_t len)
{
        char ma[16] = "*", mi[16] = "*", acc[4];
        size_t n = 0;

        if (r->major != SHIM_DEV_ANY)
                snprintf(ma, sizeof(ma), "%d", (int)r->major);
        if (r->minor != SHIM_DEV_ANY)
                snprintf(mi, sizeof(mi), "%d", (int)r->minor);
        if (r->access & SHIM_DEV_READ)
                acc[n++] = 'r';
        if (r->access & SHIM_DEV_WRITE)
                acc[n++] = 'w';
        if (r->access & SHIM_DEV_MKNOD)
                acc[n++] = 'm';
        acc[n] = '\0';
        snprintf(buf, len, "%c %s:%s %s", r->type, ma, mi, acc);
        return buf;
}

/* ---- instructions ------------------------------------------------------ */

static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

#define LDX_W(dst, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0)
#define ALU_K(op, dst, imm) insn(BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm)
#define MOV_X(dst, src) insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JNE_K(dst, imm) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm) /* off patched */
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static bool
rule_ok(const struct shim_dev_rule *r)
{
        return (r->type == 'a' || r->type == 'b' || r->type == 'c') && r->major >= SHIM_DEV_ANY &&
               r->minor >= SHIM_DEV_ANY && r->access != 0 && (r->access & ~(unsigned)SHIM_DEV_RWM) == 0;
}

int
shim_devices_prog(const struct shim_dev_rule *rules, size_t n, struct bpf_insn *out, size_t room, struct cnr_err **err)
{
        size_t k = 0;

        if (room < SHIM_DEVICES_MAX_INSNS(n))
                return cnr_errf(err, ENOSPC, "device filter: %zu rules need room for %zu instructions", n,
                                (size_t)SHIM_DEVICES_MAX_INSNS(n));
        out[k++] = LDX_W(BPF_REG_2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        out[k++] = ALU_K(BPF_AND, BPF_REG_2, 0xffff);
        out[k++] = LDX_W(BPF_REG_3, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        out[k++] = ALU_K(BPF_RSH, BPF_REG_3, 16);
        out[k++] = LDX_W(BPF_REG_4, offsetof(struct bpf_cgroup_dev_ctx, major));
        out[k++] = LDX_W(BPF_REG_5, offsetof(struct bpf_cgroup_dev_ctx, minor));
        /* An access bit no rule can name (a future kernel's) is denied
         * before any rule is tried; its jump is patched to the deny below. */
        out[k++] = MOV_X(BPF_REG_1, BPF_REG_3);
        out[k++] = ALU_K(BPF_AND, BPF_REG_1, ~(int32_t)SHIM_DEV_RWM);
        out[k++] = JNE_K(BPF_REG_1, 0);
        for (size_t i = 0; i < n; i++) {
                const struct shim_dev_rule *r = &rules[i];
                size_t start = k;
                char buf[48];

                if (!rule_ok(r))
                        return cnr_errf(err, EINVAL, "device filter: rule `%s` out of range",
                                        shim_devices_rule_str(r, buf, sizeof(buf)));
                if (r->type != 'a')
                        out[k++] = JNE_K(BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
                if (r->access != SHIM_DEV_RWM) {
                        out[k++] = MOV_X(BPF_REG_1, BPF_REG_3);
                        out[k++] = ALU_K(BPF_AND, BPF_REG_1, (int32_t)~r->access);
                        out[k++] = JNE_K(BPF_REG_1, 0);
                }
                if (r->major != SHIM_DEV_ANY)
                        out[k++] = JNE_K(BPF_REG_4, r->major);
                if (r->minor != SHIM_DEV_ANY)
                        out[k++] = JNE_K(BPF_REG_5, r->minor);
                out[k++] = ALU_K(BPF_MOV, BPF_REG_0, 1);
                out[k++] = EXIT();
                /* Every jump of the block lands on the next block. */
                for (size_t j = start; j < k; j++)
                        if (out[j].code == (BPF_JMP | BPF_JNE | BPF_K))
                                out[j].off = (int16_t)(k - (j + 1));
        }
        out[8].off = (int16_t)(k - 9);
        out[k++] = ALU_K(BPF_MOV, BPF_REG_0, 0);
        out[k++] = EXIT();
        return (int)k;
}

/* ---- bpf(2) ------------------------------------------------------------ */

static long
sys_bpf(int cmd, union bpf_attr *attr)
{
        return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

#define VERIFIER_LOG (64 * 1024)

int
shim_devices_load(const struct bpf_insn *insns, size_t n, struct cnr_err **err)
{
        union bpf_attr a;
        _cleanup_free_ char *log = NULL;
        long fd;
        int e;

        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.expected_attach_type = BPF_CGROUP_DEVICE;
        a.insns = (uint64_t)(uintptr_t)insns;
        a.insn_cnt = (uint32_t)n;
        /* Only GPL-only helpers look at the license; the program calls none. */
        a.license = (uint64_t)(uintptr_t) "GPL";
        memcpy(a.prog_name, "cnr_devices", sizeof("cnr_devices"));
        fd = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd >= 0)
                return (int)fd;
        e = errno;
        if (e != EACCES && e != EINVAL)
                return cnr_errf(err, e, "cgroup v2 device filter: BPF_PROG_LOAD");
        /* Refused by the verifier: load again to get its reasons. */
        log = xcalloc(1, VERIFIER_LOG);
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = VERIFIER_LOG;
        a.log_level = 1;
        fd = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd >= 0) /* accepted the second time: use it */
                return (int)fd;
        /* The end of the log says why; keep the message bounded. */
        size_t len = strlen(log);
        while (len > 0 && log[len - 1] == '\n')
                log[--len] = '\0';
        const char *tail = len > 1500 ? log + len - 1500 : log;
        return cnr_errf(err, e, "cgroup v2 device filter: BPF_PROG_LOAD (verifier log: %s%s)", tail == log ? "" : "...",
                        len ? tail : "empty");
}

int
shim_devices_attach(int progfd, const char *dir, struct cnr_err **err)
{
        _cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        union bpf_attr a;

        if (cgfd < 0)
                return cnr_errf(err, errno, "cgroup v2 device filter: open `%s`", dir);
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)cgfd;
        a.attach_bpf_fd = (uint32_t)progfd;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
                return cnr_errf(err, errno, "cgroup v2 device filter: BPF_PROG_ATTACH to `%s`", dir);
        return 0;
}
