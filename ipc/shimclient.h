/* The caller's side of a containr-shim: what the supervisor (and the
 * tests) use to hand a shim its container and to talk to it afterwards.
 *
 *   spec = cnr_shim_spec_memfd(&spec)            a sealed memfd
 *   socketpair(SEQPACKET) -> setup[0] ours, setup[1] the shim's fd 4
 *   cnr_shim_send_bundle(setup[0], fds, n)       the mount fds, log fd, netns
 *   ... the monitor's SpawnShim (or cnr_spawn_detached in tests) ...
 *   cnr_shim_created(setup[0], &pid)             the init waits on its barrier
 *   sock = cnr_shim_connect(dir)                 any time later, after restarts too
 *   cnr_shim_call(sock, &req, ...)               State, Start, Kill, Wait, Exec...
 */
#ifndef CNR_IPC_SHIMCLIENT_H
#define CNR_IPC_SHIMCLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "ipc/shim.pb-c.h"

int cnr_shim_spec_memfd(const Cnr__Shim__ContainerSpec *spec, struct cnr_err **err);
int cnr_shim_send_bundle(int setup, const int *fds, size_t n, struct cnr_err **err);
/* The shim's answer on the setup channel: 0 with *pid, or -1 with the
 * shim's own error (its cause: a refused rootfs, a bad cgroup path...). */
int cnr_shim_created(int setup, int timeout_ms, pid_t *pid, struct cnr_err **err);
/* Connect to DIR/sock (through /proc/self/fd: any length of DIR) and say
 * hello.  Returns the socket. */
int cnr_shim_connect(const char *dir, struct cnr_err **err);
/* One request, one reply (of any type but Error, which becomes *err).
 * Reply fds (up to 4) go to rfds/nrfds. */
int cnr_shim_call(int sock, Cnr__Shim__ToShim *req, const int *fds, size_t nfds, int timeout_ms,
                  Cnr__Shim__FromShim **reply, int *rfds, size_t *nrfds, struct cnr_err **err);

#endif
