/* Spawning a container's shim: everything from the image to a shim whose
 * container waits on its start barrier (see containers.h): unpack, snapshot
 * <id>, the rootfs overlay from mountd, tmpfs/volumes/binds, and at the
 * same time the network from netd (stage_done); then the log file, the
 * spec, SpawnShim, the setup channel's Created, the connection to the
 * shim's socket. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "ipc/helper.pb-c.h"
#include "ipc/monitor.pb-c.h"
#include "ipc/shimclient.h"
#include "supervisor/containers.h"
#include "supervisor/networks.h"
#include "supervisor/unpack.h"

#define SPAWN_TIMEOUT_MS 60000

/* ---- spawning a shim ---- */

struct spawn {
        struct ctr *c;
        ctr_done_fn cb;
        void *arg;
        struct cnr_image *img;
        json_t *icfg;
        char top[80];
        int rootfd, logfd;
        int *fds; /* the bundle */
        size_t nfds;
        Cnr__Shim__Mount **mounts;
        size_t nmounts;
        int pending;
        struct cnr_err *err;
        int stages; /* the rootfs and the network, until both arrived */
        struct cnr_err *stage_err;
        int setup; /* our end of the setup channel */
        struct event *setup_ev, *setup_timer;
        int shim_pid;
        char *warning;
        int netns;  /* from netd, -1 for --network host */
        int userns; /* the monitor's MakeUserns (--userns): idmaps the rootfs and the volumes; else -1 */
        char *etc_hosts, *etc_resolv;
};

static void
spawn_free(struct spawn *sp)
{
        if (sp->img)
                cnr_image_free(sp->img);
        json_decref(sp->icfg);
        if (sp->rootfd >= 0)
                close(sp->rootfd);
        if (sp->userns >= 0)
                close(sp->userns);
        if (sp->logfd >= 0)
                close(sp->logfd);
        for (size_t i = 0; i < sp->nfds; i++)
                if (sp->fds[i] >= 0)
                        close(sp->fds[i]);
        free(sp->fds);
        for (size_t i = 0; i < sp->nmounts; i++) {
                free(sp->mounts[i]->destination);
                if (sp->mounts[i]->device_access != protobuf_c_empty_string)
                        free(sp->mounts[i]->device_access);
                free(sp->mounts[i]);
        }
        free(sp->mounts);
        if (sp->setup >= 0)
                close(sp->setup);
        if (sp->setup_ev)
                event_free(sp->setup_ev);
        if (sp->setup_timer)
                event_free(sp->setup_timer);
        cnr_err_free(&sp->err);
        cnr_err_free(&sp->stage_err);
        free(sp->warning);
        if (sp->netns >= 0)
                close(sp->netns);
        free(sp->etc_hosts);
        free(sp->etc_resolv);
        free(sp);
}

static void
spawn_done(struct spawn *sp, struct cnr_err *err)
{
        struct ctr *c = sp->c;

        c->busy = false;
        if (err) {
                free(c->error);
                c->error = xstrdup(cnr_err_str(err));
                if (c->shim == NULL)
                        ctr_net_detach(c); /* whatever the failed spawn attached */
        }
        sp->cb(c, err, sp->arg);
        spawn_free(sp);
}

static void
spawn_fail(struct spawn *sp, struct cnr_err *err)
{
        spawn_done(sp, err);
        cnr_err_free(&err);
}

static void
on_setup_timeout(evutil_socket_t fd, short what, void *arg)
{
        struct spawn *sp = arg;
        struct cnr_err *err = NULL;

        cnr_errf(&err, ETIMEDOUT, "container %.12s: the shim did not report its container within %d s", sp->c->id,
                 SPAWN_TIMEOUT_MS / 1000);
        spawn_fail(sp, err);
}

static void
on_setup(evutil_socket_t fd, short what, void *arg)
{
        struct spawn *sp = arg;
        struct ctr *c = sp->c;
        struct cnr_err *err = NULL;
        char dir[512];
        pid_t pid = 0;

        if (cnr_shim_created(sp->setup, 0, &pid, &err) < 0) {
                cnr_err_wrap(&err, "create container %.12s", c->id);
                spawn_fail(sp, err);
                return;
        }
        if (ctr_shim_open(c->s, ctr_shim_dir(c->s, c->id, dir, sizeof(dir)), false, ctr_on_main_close, c, &c->shim,
                          &err) < 0) {
                spawn_fail(sp, err);
                return;
        }
        c->exit_seen = false;
        c->pid = pid;
        c->shim_pid = sp->shim_pid;
        c->rootfd = steal_fd(&sp->rootfd);
        if (ctr_watch(c, &err) < 0) {
                spawn_fail(sp, err);
                return;
        }
        ctr_save_or_log(c);
        spawn_done(sp, NULL);
}

static void
on_shim_up(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct spawn *sp = arg;
        Cnr__Mon__FromMonitor *env = (Cnr__Mon__FromMonitor *)m;
        struct cnr_err *e = NULL;
        struct timeval tv = {.tv_sec = SPAWN_TIMEOUT_MS / 1000};

        if (err) {
                cnr_errf(&e, err->code, "spawn the shim: %s", err->msg);
                spawn_fail(sp, e);
                return;
        }
        if (env->msg_case == CNR__MON__FROM_MONITOR__MSG_ERROR) {
                cnr_errf(&e, env->error->errno_code, "spawn the shim: %s", env->error->message);
                spawn_fail(sp, e);
                return;
        }
        sp->shim_pid = env->shim_up->pid;
        sp->setup_ev = event_new(sp->c->s->base, sp->setup, EV_READ, on_setup, sp);
        sp->setup_timer = evtimer_new(sp->c->s->base, on_setup_timeout, sp);
        event_add(sp->setup_ev, NULL);
        event_add(sp->setup_timer, &tv);
}

static int
spawn_shim(struct spawn *sp, struct cnr_err **err)
{
        struct ctr *c = sp->c;
        struct sup *s = c->s;
        Cnr__Shim__ContainerSpec spec;
        struct ctr_spec_in in = {.c = c, .image_config = sp->icfg, .rootfd = sp->rootfd};
        _cleanup_close_ int memfd = -1;
        int pair[2];
        _cleanup_free_ char *logpath = ctr_log_path(s, c->id);
        const char *net = c->cfg->network;
        _cleanup_free_ char *resolv = NULL;
        int r;

        if (sp->netns >= 0) {
                in.net_fd = true;
                in.etc_hosts = sp->etc_hosts;
                in.etc_resolv_conf = sp->etc_resolv;
        } else if (strcmp(net, "host") == 0) {
                in.net_host = true;
                {
                        /* the host's resolver configuration, as Docker does */
                        _cleanup_close_ int rf = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
                        char buf[8192];
                        ssize_t n = rf >= 0 ? read(rf, buf, sizeof(buf) - 1) : -1;

                        if (n >= 0) {
                                buf[n] = '\0';
                                resolv = xstrdup(buf);
                        }
                }
                in.etc_resolv_conf = resolv;
        }
        sp->logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (sp->logfd < 0)
                return cnr_errf(err, errno, "open the log file `%s`", logpath);
        if (ctr_spec_build(&in, &spec, NULL, NULL, err) < 0) {
                ctr_spec_free(&spec);
                return -1;
        }
        /* The bundle: rootfs, log, the mounts in order, the netns. */
        {
                int *fds = xcalloc(sp->nfds + 3, sizeof(int));
                fds[0] = steal_fd(&sp->rootfd);
                sp->rootfd = fcntl(fds[0], F_DUPFD_CLOEXEC, 3); /* kept: users for exec */
                fds[1] = steal_fd(&sp->logfd);
                for (size_t i = 0; i < sp->nfds; i++) {
                        fds[i + 2] = sp->fds[i];
                        sp->mounts[i]->fd = (uint32_t)(i + 2);
                }
                free(sp->fds);
                sp->fds = fds;
                sp->nfds += 2;
                if (sp->netns >= 0) {
                        spec.namespaces->net_fd = (uint32_t)sp->nfds;
                        sp->fds[sp->nfds++] = steal_fd(&sp->netns);
                }
        }
        spec.rootfs_fd = 0;
        spec.log_fd = 1;
        spec.mounts = sp->mounts;
        spec.n_mounts = sp->nmounts;
        spec.nfds = (uint32_t)sp->nfds;
        memfd = cnr_shim_spec_memfd(&spec, err);
        spec.mounts = NULL;
        spec.n_mounts = 0;
        ctr_spec_free(&spec);
        if (memfd < 0)
                return -1;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return cnr_errf(err, errno, "socketpair");
        sp->setup = pair[0];
        r = cnr_shim_send_bundle(sp->setup, sp->fds, sp->nfds, err);
        if (r == 0) {
                Cnr__Mon__ToMonitor env = CNR__MON__TO_MONITOR__INIT;
                Cnr__Mon__SpawnShim ss = CNR__MON__SPAWN_SHIM__INIT;

                ss.container_id = c->id;
                env.op_case = CNR__MON__TO_MONITOR__OP_SPAWN_SHIM;
                env.spawn_shim = &ss;
                r = cnr_peer_request(s->mon, env.op_case, &env.base, (int[]){memfd, pair[1]}, 2, SPAWN_TIMEOUT_MS,
                                     on_shim_up, sp, err);
        }
        close(pair[1]);
        /* The shim holds the bundle now (or the request failed). */
        for (size_t i = 0; i < sp->nfds; i++) {
                close(sp->fds[i]);
                sp->fds[i] = -1;
        }
        return r;
}

/* The rootfs (snapshot, overlay, the other mounts) and netd's namespace
 * do not depend on each other: both are asked for at once and the shim is
 * spawned when both have arrived.  A stage that fails keeps the first
 * error; the spawn fails once the other stage has answered too, so that
 * no callback outlives sp and whatever was attached is detached.  Takes
 * err. */
static void
stage_done(struct spawn *sp, struct cnr_err *err)
{
        struct cnr_err *e = NULL;

        if (err && sp->stage_err == NULL)
                sp->stage_err = err;
        else
                cnr_err_free(&err);
        if (--sp->stages > 0)
                return;
        if (sp->stage_err) {
                spawn_fail(sp, steal_ptr(&sp->stage_err));
                return;
        }
        if (spawn_shim(sp, &e) < 0)
                spawn_fail(sp, e);
}

static void spawn_network(struct spawn *sp);

static void
on_network(struct sup *s, struct sup_net_attachment *a, struct cnr_err *err, void *arg)
{
        struct spawn *sp = arg;
        struct cnr_err *e = NULL;

        if (err) {
                cnr_errf(&e, err->code, "network: %s", err->msg);
                stage_done(sp, e);
                return;
        }
        sp->netns = a->netns_fd;
        a->netns_fd = -1;
        sp->etc_hosts = a->etc_hosts ? xstrdup(a->etc_hosts) : NULL;
        sp->etc_resolv = a->etc_resolv_conf ? xstrdup(a->etc_resolv_conf) : NULL;
        stage_done(sp, NULL);
}

/* -p [IP:]HOST:CONTAINER[/tcp|udp] */
static int
parse_ports(char **in, size_t n, struct sup_port_map *out, char **ips, struct cnr_err **err)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *copy = xstrdup(in[i]);
                char *proto = strchr(copy, '/'), *parts[3];
                size_t k = 0;
                unsigned long long hp, cp;

                if (proto) {
                        *proto++ = '\0';
                        if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
                                return cnr_errf(err, EINVAL, "-p `%s`: protocol tcp or udp", in[i]);
                }
                for (char *p = copy, *tok; k < 3 && (tok = strsep(&p, ":")) != NULL;)
                        parts[k++] = tok;
                if (k < 2 || cnr_parse_uint(parts[k - 2], 65535, &hp) < 0 ||
                    cnr_parse_uint(parts[k - 1], 65535, &cp) < 0 || hp == 0 || cp == 0)
                        return cnr_errf(err, EINVAL, "-p `%s`: want [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]", in[i]);
                ips[i] = k == 3 ? xstrdup(parts[0]) : NULL;
                out[i] = (struct sup_port_map){.host_port = (uint16_t)hp,
                                               .container_port = (uint16_t)cp,
                                               .udp = proto && strcmp(proto, "udp") == 0,
                                               .host_ip = ips[i]};
        }
        return 0;
}

/* netd's namespace: the default bridge, a named network, or (none) a
 * namespace with lo only; --network host needs none. */
static void
spawn_network(struct spawn *sp)
{
        struct ctr *c = sp->c;
        const char *net = c->cfg->network[0] ? c->cfg->network : CNR_NET_DEFAULT;
        struct sup_net_request req = {.container_id = c->id, .container_name = c->name};
        struct sup_port_map *ports = xcalloc(c->cfg->n_publish + 1, sizeof(*ports));
        char **ips = xcalloc(c->cfg->n_publish + 1, sizeof(char *));
        char hostname[64];
        struct cnr_err *e = NULL;
        int r = 0;

        if (!ctr_uses_netd(c)) {
                free(ports);
                free(ips);
                stage_done(sp, NULL);
                return;
        }
        snprintf(hostname, sizeof(hostname), "%.63s", c->cfg->hostname[0] ? c->cfg->hostname : c->id);
        if (!c->cfg->hostname[0])
                hostname[12] = '\0';
        req.hostname = hostname;
        if (strcmp(net, "none") != 0) {
                req.networks = &net;
                req.nnetworks = 1;
        }
        r = parse_ports(c->cfg->publish, c->cfg->n_publish, ports, ips, &e);
        req.ports = ports;
        req.nports = c->cfg->n_publish;
        req.ip = c->cfg->ip;
        req.ip6 = c->cfg->ip6;
        if (r == 0)
                r = sup_network_attach(c->s, &req, on_network, sp, &e);
        for (size_t i = 0; i < c->cfg->n_publish; i++)
                free(ips[i]);
        free(ips);
        free(ports);
        if (r < 0) {
                cnr_err_wrap(&e, "network `%s`", net);
                stage_done(sp, e);
        }
}

static void
mount_arrived(struct spawn *sp, size_t idx, int fd, struct cnr_err *err)
{
        if (err && sp->err == NULL)
                cnr_errf(&sp->err, err->code, "mount `%s`: %s", sp->mounts[idx]->destination, err->msg);
        if (fd >= 0)
                sp->fds[idx] = fd;
        if (--sp->pending > 0)
                return;
        stage_done(sp, steal_ptr(&sp->err));
}

struct mount_req {
        struct spawn *sp;
        size_t idx;
};

static void
on_tmpfs(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct mount_req *mr = arg;
        Cnr__Helper__FromHelper *env = (Cnr__Helper__FromHelper *)m;
        struct cnr_err *e = NULL;
        int fd = -1;

        if (err)
                cnr_errf(&e, err->code, "%s", err->msg);
        else if (env->msg_case == CNR__HELPER__FROM_HELPER__MSG_ERROR)
                cnr_errf(&e, env->error->errno_code, "mountd: %s", env->error->message);
        else
                fd = cnr_frame_take_fd(f, 0);
        mount_arrived(mr->sp, mr->idx, fd, e);
        cnr_err_free(&e);
        free(mr);
}

static void
on_volume(struct cnr_err *err, int fd, void *arg)
{
        struct mount_req *mr = arg;

        mount_arrived(mr->sp, mr->idx, fd, err);
        free(mr);
}

static Cnr__Shim__Mount *
new_mount(struct spawn *sp, const char *dest, int fd)
{
        Cnr__Shim__Mount *m = xcalloc(1, sizeof(*m));

        cnr__shim__mount__init(m);
        m->destination = xstrdup(dest);
        sp->mounts = xrealloc(sp->mounts, (sp->nmounts + 1) * sizeof(*sp->mounts));
        sp->fds = xrealloc(sp->fds, (sp->nmounts + 1) * sizeof(int));
        sp->fds[sp->nmounts] = fd;
        sp->mounts[sp->nmounts++] = m;
        sp->nfds = sp->nmounts;
        return m;
}

/* The image's VOLUMEs (Docker): each an anonymous volume of this
 * container, filled from the image's content (copy_up), unless a mount of
 * the operator's has that destination.  A destination is cleaned like
 * any other, so `../../etc` is the container's /etc (THREATS 28); the
 * shim resolves it under the rootfs.  Returns how many were added (at
 * the end of sp->mounts). */
static size_t
image_volumes(struct spawn *sp)
{
        json_t *vols = json_object_get(sp->icfg, "Volumes");
        const char *key;
        json_t *v;
        size_t n = 0, before = sp->nmounts;

        if (!json_is_object(vols))
                return 0;
        json_object_foreach(vols, key, v)
        {
                _cleanup_free_ char *dest = ctr_clean_path(key);
                bool taken = false;

                if (dest == NULL || n >= 32) {
                        log_warn("container %.12s: image VOLUME `%s` ignored (%s)", sp->c->id, key,
                                 dest ? "more than 32" : "not a path below /");
                        continue;
                }
                for (size_t i = 0; i < sp->nmounts && !taken; i++)
                        taken = strcmp(sp->mounts[i]->destination, dest) == 0;
                if (taken)
                        continue;
                new_mount(sp, dest, -1)->copy_up = true;
                n++;
        }
        return sp->nmounts - before;
}

/* The mounts of the spec: binds from the held O_PATH fds (the shim clones
 * them), tmpfs and volumes from mountd, the image's VOLUMEs. */
static void
spawn_mounts(struct spawn *sp)
{
        struct ctr *c = sp->c;
        const Cnr__Api__ContainerConfig *cfg = c->cfg;
        struct cnr_err *err = NULL;
        size_t first_async, nimage;

        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const Cnr__Api__ContainerMount *cm = cfg->mounts[i];
                _cleanup_free_ char *dest = ctr_clean_path(cm->destination);
                Cnr__Shim__Mount *m;

                if (dest == NULL) {
                        cnr_errf(&err, EINVAL, "mount destination `%s`: not a path below /", cm->destination);
                        stage_done(sp, err);
                        return;
                }
                if (strcmp(cm->type, "bind") != 0)
                        continue;
                if (cm->fd < 0 || (size_t)cm->fd >= c->nbind_fds || c->bind_fds[cm->fd] < 0) {
                        cnr_errf(&err, ESTALE,
                                 "bind mount `%s`: its source, opened by the CLI, is gone (the host rebooted, or "
                                 "the container's shim that kept it was killed): create the container again",
                                 cm->destination);
                        stage_done(sp, err);
                        return;
                }
                m = new_mount(sp, dest, fcntl(c->bind_fds[cm->fd], F_DUPFD_CLOEXEC, 3));
                m->bind = true;
                m->read_only = cm->read_only;
                m->source = cm->fd; /* the shim keeps it and hands it back by this number */
        }
        /* --device: a bind of the host node; the shim reads its type and
         * numbers from the fd for the cgroup's allow-list. */
        for (size_t i = 0; i < cfg->n_devices; i++) {
                const Cnr__Api__ContainerDevice *cd = cfg->devices[i];
                _cleanup_free_ char *dest = ctr_clean_path(cd->path);
                Cnr__Shim__Mount *m;

                if (dest == NULL || cd->fd < 0 || (size_t)cd->fd >= c->nbind_fds || c->bind_fds[cd->fd] < 0) {
                        cnr_errf(&err, dest ? ESTALE : EINVAL,
                                 dest ? "device `%s`: its host node, opened by the CLI, is gone (the host rebooted, "
                                        "or the container's shim that kept it was killed): create the container "
                                        "again"
                                      : "device `%s`: not a path below /",
                                 cd->path);
                        stage_done(sp, err);
                        return;
                }
                m = new_mount(sp, dest, fcntl(c->bind_fds[cd->fd], F_DUPFD_CLOEXEC, 3));
                m->bind = true;
                m->device_access = xstrdup(cd->permissions);
                m->source = cd->fd;
        }
        if (cfg->init_fd >= 0) {
                Cnr__Shim__Mount *m;
                if ((size_t)cfg->init_fd >= c->nbind_fds || c->bind_fds[cfg->init_fd] < 0) {
                        cnr_errf(&err, ESTALE,
                                 "--init: the init binary's fd is gone (the host rebooted, or the container's "
                                 "shim that kept it was killed): create the container again");
                        stage_done(sp, err);
                        return;
                }
                m = new_mount(sp, "/sbin/docker-init", fcntl(c->bind_fds[cfg->init_fd], F_DUPFD_CLOEXEC, 3));
                m->bind = true;
                m->read_only = true;
                m->source = cfg->init_fd;
        }
        first_async = sp->nmounts;
        for (size_t i = 0; i < cfg->n_mounts; i++) {
                const Cnr__Api__ContainerMount *cm = cfg->mounts[i];
                _cleanup_free_ char *dest = ctr_clean_path(cm->destination);

                if (strcmp(cm->type, "bind") == 0)
                        continue;
                /* Docker: an empty volume starts as a copy of the image's
                 * content at its destination. */
                new_mount(sp, dest, -1)->copy_up = strcmp(cm->type, "volume") == 0;
        }
        nimage = image_volumes(sp);
        sp->pending = (int)(sp->nmounts - first_async) + 1;
        for (size_t i = 0, k = sp->nmounts - nimage; i < nimage; i++, k++) {
                struct mount_req *mr = xcalloc(1, sizeof(*mr));

                mr->sp = sp;
                mr->idx = k;
                sp->mounts[k]->idmapped = sp->userns >= 0;
                if (ctr_volume_mount(c->s, "", c->id, sp->mounts[k]->destination, sp->userns, on_volume, mr, &err) <
                    0) {
                        mount_arrived(sp, mr->idx, -1, err);
                        cnr_err_free(&err);
                        free(mr);
                }
        }
        for (size_t i = 0, k = first_async; i < cfg->n_mounts; i++) {
                const Cnr__Api__ContainerMount *cm = cfg->mounts[i];
                struct mount_req *mr;
                int r;

                if (strcmp(cm->type, "bind") == 0)
                        continue;
                mr = xcalloc(1, sizeof(*mr));
                mr->sp = sp;
                mr->idx = k++;
                if (strcmp(cm->type, "tmpfs") == 0) {
                        Cnr__Helper__ToHelper env = CNR__HELPER__TO_HELPER__INIT;
                        Cnr__Helper__MountTmpfs mt = CNR__HELPER__MOUNT_TMPFS__INIT;

                        mt.size_bytes = cm->tmpfs_size;
                        mt.mode = cm->tmpfs_mode ? cm->tmpfs_mode : 01777;
                        mt.nosuid = mt.nodev = true;
                        mt.read_only = cm->read_only;
                        {
                                /* owned by the container's root */
                                struct ctr_idrange ur;
                                struct cnr_err *ue = NULL;
                                if (ctr_userns_parse(c->cfg->userns, &ur, &ue) == CTR_USERNS_MAP) {
                                        mt.uid = ur.uid;
                                        mt.gid = ur.gid;
                                }
                                cnr_err_free(&ue);
                        }
                        env.op_case = CNR__HELPER__TO_HELPER__OP_MOUNT_TMPFS;
                        env.mount_tmpfs = &mt;
                        r = sup_helper_request(c->s, CNR_HELPER_MOUNTD, env.op_case, &env.base, on_tmpfs, mr, &err);
                } else {
                        sp->mounts[mr->idx]->idmapped = sp->userns >= 0;
                        r = ctr_volume_mount(c->s, cm->source, c->id, sp->mounts[mr->idx]->destination, sp->userns,
                                             on_volume, mr, &err);
                }
                if (r < 0) {
                        mount_arrived(sp, mr->idx, -1, err);
                        cnr_err_free(&err);
                        free(mr);
                }
        }
        mount_arrived(sp, SIZE_MAX, -1, NULL); /* the +1 above */
}

static void
on_rootfs(struct cnr_err *err, int fd, void *arg)
{
        struct spawn *sp = arg;
        struct cnr_err *e = NULL;

        if (err) {
                cnr_errf(&e, err->code, "mount the rootfs: %s", err->msg);
                stage_done(sp, e);
                return;
        }
        sp->rootfd = fd;
        spawn_mounts(sp);
}

static void
on_userns(struct cnr_peer *p, struct cnr_frame *f, ProtobufCMessage *m, struct cnr_err *err, void *arg)
{
        struct spawn *sp = arg;
        Cnr__Mon__FromMonitor *env = (Cnr__Mon__FromMonitor *)m;
        struct cnr_err *e = NULL;
        int fd;

        if (err) {
                cnr_errf(&e, err->code, "make the user namespace of the rootfs: %s", err->msg);
                stage_done(sp, e);
                return;
        }
        if (env->msg_case == CNR__MON__FROM_MONITOR__MSG_ERROR) {
                cnr_errf(&e, env->error->errno_code, "make the user namespace of the rootfs: %s",
                         env->error->message);
                stage_done(sp, e);
                return;
        }
        fd = cnr_frame_take_fd(f, 0);
        if (sp->userns >= 0)
                close(sp->userns);
        sp->userns = fd; /* kept for the volumes (spawn_mounts) */
        if (cnr_snap_mount_idmapped(sp->c->s->snaps, sp->c->id, fd, on_rootfs, sp, &e) < 0) {
                cnr_err_wrap(&e, "mount the rootfs");
                stage_done(sp, e);
        }
}

/* With --userns the image's layers are idmapped (files owned by root in
 * the image are the container's root): mountd needs a user namespace
 * with the container's maps, which only the monitor may make. */
static void
mount_rootfs(struct spawn *sp)
{
        struct cnr_err *err = NULL;
        struct ctr_idrange r;

        if (ctr_userns_parse(sp->c->cfg->userns, &r, &err) == CTR_USERNS_MAP) {
                Cnr__Mon__ToMonitor env = CNR__MON__TO_MONITOR__INIT;
                Cnr__Mon__MakeUserns mu = CNR__MON__MAKE_USERNS__INIT;
                Cnr__Mon__IdMap um = CNR__MON__ID_MAP__INIT, gm = CNR__MON__ID_MAP__INIT;
                Cnr__Mon__IdMap *ump[1] = {&um}, *gmp[1] = {&gm};

                um.host_id = r.uid;
                gm.host_id = r.gid;
                um.size = gm.size = r.count;
                mu.container_id = sp->c->id;
                mu.uid_map = ump;
                mu.n_uid_map = 1;
                mu.gid_map = gmp;
                mu.n_gid_map = 1;
                env.op_case = CNR__MON__TO_MONITOR__OP_MAKE_USERNS;
                env.make_userns = &mu;
                if (sup_monitor_request(sp->c->s, env.op_case, &env.base, on_userns, sp, &err) < 0) {
                        cnr_err_wrap(&err, "make the user namespace of the rootfs");
                        stage_done(sp, err);
                }
                return;
        }
        cnr_err_free(&err);
        /* --rm: the upper is removed at exit, so it need not be synced:
         * the last close of an overlay syncs its upper's whole filesystem
         * (docs/performance.md). */
        if ((sp->c->cfg->auto_remove ? cnr_snap_mount_no_sync : cnr_snap_mount)(sp->c->s->snaps, sp->c->id, on_rootfs,
                                                                                sp, &err) < 0) {
                cnr_err_wrap(&err, "mount the rootfs");
                stage_done(sp, err);
        }
}

static void
on_prepared(struct cnr_err *err, void *arg)
{
        struct spawn *sp = arg;
        struct cnr_err *e = NULL;

        if (err) {
                cnr_errf(&e, err->code, "prepare the container's snapshot: %s", err->msg);
                stage_done(sp, e);
                return;
        }
        mount_rootfs(sp);
}

static void
on_unpacked(struct cnr_err *err, const char *top, void *arg)
{
        struct spawn *sp = arg;
        struct cnr_snap_info info;
        struct cnr_err *e = NULL;
        json_t *labels;

        if (err) {
                cnr_errf(&e, err->code, "unpack image %s: %s", sp->c->image_id, err->msg);
                stage_done(sp, e);
                return;
        }
        if (cnr_snap_stat(sp->c->s->snaps, sp->c->id, &info, &e) == 0) {
                cnr_snap_info_clear(&info);
                mount_rootfs(sp);
                return;
        }
        cnr_err_free(&e);
        labels = json_pack("{s:s}", "containr.container", sp->c->id);
        if (cnr_snap_prepare(sp->c->s->snaps, sp->c->id, top, labels, on_prepared, sp, &e) < 0) {
                json_decref(labels);
                cnr_err_wrap(&e, "prepare the container's snapshot");
                stage_done(sp, e);
                return;
        }
        json_decref(labels);
}

/* Everything from the image to a shim whose container waits on its start
 * barrier. */
int
ctr_spawn(struct ctr *c, ctr_done_fn cb, void *arg, struct cnr_err **err)
{
        struct spawn *sp;

        if (c->s->snaps == NULL)
                return cnr_errf(err, EAGAIN, "the snapshotter is not available");
        if (c->shim)
                return cnr_errf(err, EBUSY, "container %.12s already has a shim", c->id);
        sp = xcalloc(1, sizeof(*sp));
        sp->c = c;
        sp->cb = cb;
        sp->arg = arg;
        sp->rootfd = sp->logfd = sp->setup = sp->netns = sp->userns = -1;
        if (cnr_images_get(c->s->images, c->image_id, &sp->img, err) < 0) {
                spawn_free(sp);
                return cnr_err_wrap(err, "container %.12s", c->id);
        }
        if (sp->img->nlayers == 0) {
                spawn_free(sp);
                return cnr_errf(err, EINVAL, "image %s has no layers: nothing to run", c->image_id);
        }
        sp->icfg = ctr_image_config(c);
        c->busy = true;
        free(c->error);
        c->error = NULL;
        sp->stages = 2; /* the rootfs chain, the network (stage_done) */
        if (cnr_unpack(c->s->snaps, c->s->content, sp->img, on_unpacked, sp, err) < 0) {
                c->busy = false;
                spawn_free(sp);
                return -1;
        }
        spawn_network(sp);
        return 0;
}
