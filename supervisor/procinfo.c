/* Facts about a process, read from the outside in /proc: what `containr
 * info` reports is what the kernel says, not what a process claims. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "supervisor/containrd.h"

static int
read_small(const char *path, char *buf, size_t n)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t r;

        if (fd < 0)
                return -1;
        r = read(fd, buf, n - 1);
        if (r < 0)
                return -1;
        buf[r] = '\0';
        return 0;
}

static unsigned long long
proc_uptime_ms(pid_t pid)
{
        char path[64], buf[1024], up[128];
        unsigned long long start = 0;
        double sys_up = 0;
        long hz = sysconf(_SC_CLK_TCK);
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (read_small(path, buf, sizeof(buf)) < 0 || read_small("/proc/uptime", up, sizeof(up)) < 0)
                return 0;
        /* comm may hold spaces and parens: fields start after the last ')'. */
        p = strrchr(buf, ')');
        if (p == NULL)
                return 0;
        p++;
        /* after ")": state is field 3; starttime is field 22. */
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p + 1, ' ');
        }
        if (p == NULL || sscanf(p, " %llu", &start) != 1 || sscanf(up, "%lf", &sys_up) != 1 || hz <= 0)
                return 0;
        double ms = sys_up * 1000.0 - (double)start * 1000.0 / (double)hz;
        return ms > 0 ? (unsigned long long)ms : 0;
}

int
cnr_procinfo_read(pid_t pid, struct cnr_procinfo *out)
{
        char path[64], buf[4096];
        char *line, *save = NULL;

        memset(out, 0, sizeof(*out));
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        if (read_small(path, buf, sizeof(buf)) < 0)
                return -1;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned u;
                if (sscanf(line, "Uid: %*u %u", &u) == 1)
                        out->uid = u;
                else if (sscanf(line, "Gid: %*u %u", &u) == 1)
                        out->gid = u;
                else if (strncmp(line, "CapEff:", 7) == 0)
                        out->cap_eff = strtoull(line + 7, NULL, 16);
                else if (sscanf(line, "Seccomp: %u", &u) == 1)
                        out->seccomp = u;
                else if (sscanf(line, "NoNewPrivs: %u", &u) == 1)
                        out->no_new_privs = u != 0;
        }
        out->uptime_ms = proc_uptime_ms(pid);
        return 0;
}
