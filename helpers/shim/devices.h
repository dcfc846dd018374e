/* The container's device allow-list, for cgroup v1 and v2 alike.
 *
 * One list (shim_devices_default: Docker's) feeds both mechanisms:
 *
 *   v1  cgroup.c writes "a" to devices.deny, then each rule formatted by
 *       shim_devices_rule_str() ("c 1:3 rwm") to devices.allow;
 *   v2  a BPF_PROG_TYPE_CGROUP_DEVICE program generated from the rules by
 *       shim_devices_prog(), loaded and attached by shim_devices_attach()
 *       to the container's directory in every cgroup2 hierarchy.
 *
 * The kernel runs the cgroup2 programs first and the v1 list second, so on
 * a hybrid host both apply.  A program attached with BPF_F_ALLOW_MULTI
 * stays in force below its cgroup: a sub-cgroup may add programs but never
 * replace this one.  Detaching happens with the rmdir of the cgroup.
 *
 * The generator is pure (no syscalls): tests/unit/test_devices.c checks
 * the shape of its output and runs it on a small interpreter. */
#ifndef CNR_SHIM_DEVICES_H
#define CNR_SHIM_DEVICES_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Access bits: the same values as BPF_DEVCG_ACC_*. */
enum {
        SHIM_DEV_MKNOD = 1,
        SHIM_DEV_READ = 2,
        SHIM_DEV_WRITE = 4,
        SHIM_DEV_RWM = 7,
};

#define SHIM_DEV_ANY (-1) /* a wildcard major or minor */

struct shim_dev_rule {
        char type;       /* 'c' char, 'b' block, 'a' both */
        int32_t major;   /* SHIM_DEV_ANY or 0..2^31-1 */
        int32_t minor;   /* SHIM_DEV_ANY or 0..2^31-1 */
        unsigned access; /* SHIM_DEV_* bits */
};

/* Docker's default list: mknod of any node; read/write of null, zero,
 * full, random, urandom, tty, console, ptmx, the pts slaves and tun. */
extern const struct shim_dev_rule shim_devices_default[];
extern const size_t shim_devices_ndefault;

/* A non-empty subset of "rwm" as SHIM_DEV_* bits; -1 for anything else. */
int shim_devices_access(const char *s);

/* The rule for a --device: type and major:minor of the node fd refers to
 * (fstat; a character or block device, else EINVAL naming `what`). */
int shim_devices_rule_fd(int fd, const char *access, const char *what, struct shim_dev_rule *out,
                         struct cnr_err **err);

/* "c 1:3 rwm", "b *:* m" (the v1 devices.allow syntax); buf >= 32 bytes. */
const char *shim_devices_rule_str(const struct shim_dev_rule *r, char *buf, size_t len);

/* Most instructions a program of n rules can take. */
#define SHIM_DEVICES_MAX_INSNS(n) (9 + 8 * (n) + 2)

/* The allow-list as eBPF: returns the number of instructions written to
 * out (at least SHIM_DEVICES_MAX_INSNS(n) of room), or -1 with *err set for
 * a rule out of range.  The program returns 1 (allow) when a rule covers
 * the device type, major, minor and every access bit asked, else 0. */
int shim_devices_prog(const struct shim_dev_rule *rules, size_t n, struct bpf_insn *out, size_t room,
                      struct cnr_err **err);

/* bpf(BPF_PROG_LOAD) of the program; returns its fd (close-on-exec).  A
 * verifier refusal carries the verifier's log in the message. */
int shim_devices_load(const struct bpf_insn *insns, size_t n, struct cnr_err **err);

/* bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) of progfd to
 * the cgroup2 directory `dir`. */
int shim_devices_attach(int progfd, const char *dir, struct cnr_err **err);

#endif
