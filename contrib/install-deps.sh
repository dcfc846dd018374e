#!/bin/sh
# The Debian packages containr builds and tests with (DESIGN.md section 6).
set -eu
export DEBIAN_FRONTEND=noninteractive
pkgs="build-essential autoconf automake libtool pkg-config
 libevent-dev libprotobuf-c-dev protobuf-c-compiler libseccomp-dev libcap-dev
 libmnl-dev libarchive-dev libssl-dev libcmocka-dev libyaml-dev libjansson-dev
 libsqlite3-dev libcurl4-openssl-dev libnghttp2-dev
 clang libclang-rt-14-dev util-linux procps iproute2 man-db groff-base
 busybox-static valgrind docker-registry skopeo umoci containernetworking-plugins iptables
 zstd tini jq apache2-utils curl sqlite3 python3 strace runc crun"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
