/* devcg: the cgroup v2 device filter from the outside, for
 * tests/integration/devices.sh.
 *
 *   devcg attach CGDIR     load the shim's default program (devices.c)
 *                          and attach it to the cgroup2 directory (never
 *                          a hierarchy's root: refused);
 *                          prints "attached load_us=N"
 *   devcg query CGDIR      the BPF_CGROUP_DEVICE programs attached to
 *                          CGDIR itself: "attached N", then "prog ID NAME
 *                          INSNS" per program (xlated instruction count)
 *   devcg open PATH...     open each read-only; prints "PATH ok" or
 *                          "PATH ERRNAME"
 *   devcg badload          load a program the verifier refuses (a loop):
 *                          prints the error, as the shim would report it
 *   devcg pty              new session; opens /dev/ptmx, its /dev/pts/N
 *                          slave (which becomes the controlling terminal)
 *                          and /dev/tty: "ptmx ok", "pts ok", "tty ok" or
 *                          the errno name in place of ok
 *
 * Exit 0 when the command itself worked (an open that fails is a result,
 * not an error); 1 with "error: ..." otherwise. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "helpers/shim/devices.h"

static long
sys_bpf(int cmd, union bpf_attr *a)
{
        return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static const char *
ename(int e)
{
        const char *n = strerrorname_np(e);
        return n ? n : "E?";
}

static int
fail(struct cnr_err *err)
{
        printf("error: %s: %s\n", ename(err->code), cnr_err_str(err));
        cnr_err_free(&err);
        return 1;
}

static int
cmd_attach(const char *dir)
{
        struct bpf_insn insns[SHIM_DEVICES_MAX_INSNS(32)];
        struct cnr_err *err = NULL;
        struct timespec t0, t1;
        int n, prog;

        /* Never a hierarchy's root (it has no cgroup.events): that would
         * filter every process of the host. */
        _cleanup_free_ char *events = xasprintf("%s/cgroup.events", dir);
        if (access(events, F_OK) < 0) {
                printf("error: %s: `%s` is not a non-root cgroup2 directory\n", ename(errno), dir);
                return 1;
        }
        n = shim_devices_prog(shim_devices_default, shim_devices_ndefault, insns, CNR_ARRAY_LEN(insns), &err);
        if (n < 0)
                return fail(err);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        prog = shim_devices_load(insns, (size_t)n, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (prog < 0)
                return fail(err);
        if (shim_devices_attach(prog, dir, &err) < 0)
                return fail(err);
        close(prog);
        printf("attached load_us=%lld\n",
               (long long)((t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000));
        return 0;
}

static int
cmd_query(const char *dir)
{
        _cleanup_close_ int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint32_t ids[64];
        union bpf_attr a;

        if (cg < 0) {
                printf("error: %s: open %s\n", ename(errno), dir);
                return 1;
        }
        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t)cg;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (uint64_t)(uintptr_t)ids;
        a.query.prog_cnt = CNR_ARRAY_LEN(ids);
        if (sys_bpf(BPF_PROG_QUERY, &a) < 0) {
                printf("error: %s: BPF_PROG_QUERY %s\n", ename(errno), dir);
                return 1;
        }
        printf("attached %u\n", a.query.prog_cnt);
        for (uint32_t i = 0; i < a.query.prog_cnt; i++) {
                struct bpf_prog_info info;
                union bpf_attr g;
                int fd;

                memset(&g, 0, sizeof(g));
                g.prog_id = ids[i];
                fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
                if (fd < 0) {
                        printf("error: %s: BPF_PROG_GET_FD_BY_ID %u\n", ename(errno), ids[i]);
                        return 1;
                }
                memset(&info, 0, sizeof(info));
                memset(&g, 0, sizeof(g));
                g.info.bpf_fd = (uint32_t)fd;
                g.info.info_len = sizeof(info);
                g.info.info = (uint64_t)(uintptr_t)&info;
                if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &g) < 0) {
                        printf("error: %s: BPF_OBJ_GET_INFO_BY_FD %u\n", ename(errno), ids[i]);
                        close(fd);
                        return 1;
                }
                close(fd);
                printf("prog %u %s %u\n", ids[i], info.name[0] ? info.name : "-",
                       info.xlated_prog_len / (uint32_t)sizeof(struct bpf_insn));
        }
        return 0;
}

static int
cmd_badload(void)
{
        const struct bpf_insn loop[] = {
                {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
                {.code = BPF_JMP | BPF_JA, .off = -2},
        };
        struct cnr_err *err = NULL;
        int fd = shim_devices_load(loop, CNR_ARRAY_LEN(loop), &err);

        if (fd >= 0) {
                close(fd);
                printf("loaded\n");
                return 0;
        }
        return fail(err);
}

static void
try_open(const char *label, const char *path, int flags)
{
        int fd = open(path, flags | O_CLOEXEC);

        printf("%s %s\n", label, fd >= 0 ? "ok" : ename(errno));
        if (fd >= 0)
                close(fd);
}

static int
cmd_pty(void)
{
        int m;
        const char *slave;

        signal(SIGHUP, SIG_IGN); /* closing the master hangs up our terminal */
        if (setsid() < 0) {
                printf("error: %s: setsid\n", ename(errno));
                return 1;
        }
        m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        printf("ptmx %s\n", m >= 0 ? "ok" : ename(errno));
        if (m < 0)
                return 0;
        if (grantpt(m) < 0 || unlockpt(m) < 0 || !(slave = ptsname(m))) {
                printf("error: %s: grantpt/unlockpt/ptsname\n", ename(errno));
                return 1;
        }
        /* Without O_NOCTTY: the slave becomes our controlling terminal,
         * so that /dev/tty has something to open. */
        try_open("pts", slave, O_RDWR);
        try_open("tty", "/dev/tty", O_RDWR);
        close(m);
        return 0;
}

int
main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 3 && strcmp(argv[1], "attach") == 0)
                return cmd_attach(argv[2]);
        if (argc == 3 && strcmp(argv[1], "query") == 0)
                return cmd_query(argv[2]);
        if (argc >= 3 && strcmp(argv[1], "open") == 0) {
                for (int i = 2; i < argc; i++)
                        try_open(argv[i], argv[i], O_RDONLY);
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "pty") == 0)
                return cmd_pty();
        if (argc == 2 && strcmp(argv[1], "badload") == 0)
                return cmd_badload();
        fprintf(stderr, "usage: devcg attach|query CGDIR | open PATH... | pty | badload\n");
        return 2;
}
