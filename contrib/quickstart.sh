#!/bin/sh
# Set up containr on a fresh Debian 12 machine (as root): build
# dependencies, build, install, the service users, start containrd, show
# that it works.  Idempotent: run it again after pulling new code.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (sudo $0)" >&2; exit 1; }

contrib/install-deps.sh

[ -x configure ] || autoreconf -fi
if [ ! -f Makefile ]; then
	./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var --runstatedir=/run
fi
make -j"$(nproc)"
make install

# The supervisor's user and the API socket's group, and one user per helper.
getent group containr >/dev/null || groupadd --system containr
for u in containr containr-mountd containr-netd containr-snapd containr-buildd containr-crid; do
	if ! getent passwd "$u" >/dev/null; then
		if [ "$u" = containr ]; then
			useradd --system --gid containr --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
		else
			useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
		fi
	fi
done

# No systemd on these machines: start the daemon directly.  (On a host
# with systemd: systemctl enable --now containrd.)
if [ -f /run/containr/containrd.pid ] && kill -0 "$(cat /run/containr/containrd.pid)" 2>/dev/null; then
	kill -TERM "$(cat /run/containr/containrd.pid)"
	sleep 2
fi
containrd --detach
containr info

# The embedded default image, made here from Debian's busybox-static (no
# network): /bin/busybox, a link per applet, a minimal /etc/passwd and
# /etc/group, imported as `demo`.
if ! containr image inspect demo >/dev/null 2>&1; then
	root=$(mktemp -d)
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev"
	cp /bin/busybox "$root/bin/busybox"
	# what `busybox --install -s` makes, without running it in a chroot
	# that has no /proc: a symlink to /bin/busybox per applet
	/bin/busybox --list-full | while read -r applet; do
		mkdir -p "$root/$(dirname "$applet")"
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	chmod 1777 "$root/tmp"
	tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . | containr import - demo
	rm -rf "$root"
fi
containr run --rm demo echo hello
