# shellcheck shell=sh
# A real registry for the tests: Debian's docker-registry on a free
# 127.0.0.1 port with a temporary store.  Source after tests/lib.sh:
#
#   . "$top_srcdir/tests/lib.sh"
#   . "$top_srcdir/tests/registry.sh"
#   cnr_need_root; cnr_need_registry
#   cnr_start
#   cnr_registry_start                 # CNR_REGISTRY=127.0.0.1:PORT
#   cnr_registry_start --htpasswd U P  # the same, with Basic auth
#   cnr_oci_image DIR amd64 3          # an OCI layout: busybox + 2 random layers
#   skopeo copy ... oci:DIR:tag docker://$CNR_REGISTRY/x:tag
#
# docker-registry serves plain http: containr treats 127.0.0.0/8 as an
# insecure registry, as Docker does.  Everything stops at exit.

CNR_REGISTRY=
CNR_REGISTRY_PID=
CNR_REGISTRY_DIR=

cnr_need_registry() {
	for _t in docker-registry skopeo busybox; do
		if ! command -v "$_t" >/dev/null 2>&1; then
			echo "SKIP: $0 needs $_t (run contrib/install-deps.sh)"
			exit 77
		fi
	done
}

# GET a URL's status code with busybox wget (no curl needed).
cnr_http_ok() { # URL
	busybox wget -q -O /dev/null "$1" 2>/dev/null
}

cnr_registry_stop() {
	if [ -n "$CNR_REGISTRY_PID" ]; then
		kill "$CNR_REGISTRY_PID" 2>/dev/null
		wait "$CNR_REGISTRY_PID" 2>/dev/null
	fi
	CNR_REGISTRY_PID=
	if [ -n "$CNR_REGISTRY_DIR" ] && [ -z "${CNR_KEEP:-}" ]; then
		rm -rf "$CNR_REGISTRY_DIR"
	fi
	CNR_REGISTRY_DIR=
}

cnr_registry_start() { # [--htpasswd USER PASSWORD]
	CNR_REGISTRY_DIR=$(mktemp -d /tmp/cnr-reg.XXXXXX)
	trap 'cnr_registry_stop; cnr_stop' EXIT
	_auth=
	if [ "${1:-}" = --htpasswd ]; then
		command -v htpasswd >/dev/null 2>&1 || fail "htpasswd (apache2-utils) is needed for Basic auth"
		# docker-registry's htpasswd accepts bcrypt only
		htpasswd -Bbn "$2" "$3" >"$CNR_REGISTRY_DIR/htpasswd" || fail "htpasswd"
		_auth="auth:
  htpasswd:
    realm: containr-test
    path: $CNR_REGISTRY_DIR/htpasswd"
	fi
	_try=0
	while [ $_try -lt 20 ]; do
		_try=$((_try + 1))
		_port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
		cat >"$CNR_REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $CNR_REGISTRY_DIR/store
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$_port
$_auth
EOF
		docker-registry serve "$CNR_REGISTRY_DIR/config.yml" >"$CNR_REGISTRY_DIR/log" 2>&1 &
		CNR_REGISTRY_PID=$!
		_n=0
		while [ $_n -lt 50 ]; do
			kill -0 "$CNR_REGISTRY_PID" 2>/dev/null || break
			# /v2/ answers 200, or 401 with auth: either way it is up
			if busybox wget -q -S -O /dev/null "http://127.0.0.1:$_port/v2/" 2>&1 | grep -q "HTTP/1.1 [24]0"; then
				CNR_REGISTRY=127.0.0.1:$_port
				export CNR_REGISTRY
				return 0
			fi
			sleep 0.1
			_n=$((_n + 1))
		done
		kill "$CNR_REGISTRY_PID" 2>/dev/null
		wait "$CNR_REGISTRY_PID" 2>/dev/null
		CNR_REGISTRY_PID=
	done
	cat "$CNR_REGISTRY_DIR/log" >&2
	fail "docker-registry did not start"
}

# ---- test images, built here from busybox-static ---------------------------

cnr_sha256() { sha256sum "$1" | cut -d' ' -f1; }
cnr_size() { stat -c %s "$1"; }

# Put file $2 into layout $1 as a blob; prints its hex digest.
cnr_oci_blob() { # LAYOUT FILE
	_h=$(cnr_sha256 "$2")
	mkdir -p "$1/blobs/sha256"
	cp "$2" "$1/blobs/sha256/$_h"
	echo "$_h"
}

# An OCI image in layout DIR for ARCH: layer 1 is a busybox rootfs, the
# others (NLAYERS-1) random data of KB kilobytes each.  Prints the
# manifest's hex digest.
cnr_oci_manifest() { # DIR ARCH NLAYERS [KB]
	_d=$1 _arch=$2 _nl=$3 _kb=${4:-64}
	_w=$(mktemp -d /tmp/cnr-img.XXXXXX)
	mkdir -p "$_w/root/bin" "$_w/root/etc"
	cp "$(command -v busybox)" "$_w/root/bin/busybox"
	ln -s busybox "$_w/root/bin/sh"
	echo "containr test image ($_arch)" >"$_w/root/etc/motd"
	tar -C "$_w/root" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$_w/l1.tar" .
	_layers= _diffs=
	_i=1
	while [ $_i -le "$_nl" ]; do
		if [ $_i -gt 1 ]; then
			mkdir -p "$_w/r$_i/data"
			head -c $((_kb * 1024)) /dev/urandom >"$_w/r$_i/data/blob$_i"
			tar -C "$_w/r$_i" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$_w/l$_i.tar" .
		fi
		_diff=$(cnr_sha256 "$_w/l$_i.tar")
		gzip -n -1 <"$_w/l$_i.tar" >"$_w/l$_i.tgz"
		_lh=$(cnr_oci_blob "$_d" "$_w/l$_i.tgz")
		_ls=$(cnr_size "$_w/l$_i.tgz")
		_layers="$_layers${_layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$_lh\",\"size\":$_ls}"
		_diffs="$_diffs${_diffs:+,}\"sha256:$_diff\""
		_i=$((_i + 1))
	done
	printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$_arch" "$_diffs" >"$_w/config.json"
	_ch=$(cnr_oci_blob "$_d" "$_w/config.json")
	_cs=$(cnr_size "$_w/config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$_ch" "$_cs" "$_layers" >"$_w/manifest.json"
	cnr_oci_blob "$_d" "$_w/manifest.json"
	rm -rf "$_w"
}

# A one-image layout DIR with tag TAG; prints the manifest digest.
cnr_oci_image() { # DIR ARCH NLAYERS [KB] [TAG]
	mkdir -p "$1"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
	_mh=$(cnr_oci_manifest "$1" "$2" "$3" "${4:-64}")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$_mh" "$(cnr_size "$1/blobs/sha256/$_mh")" "$2" "${5:-latest}" >"$1/index.json"
	echo "sha256:$_mh"
}

# Push layout DIR (tag TAG) to the test registry as REPO:TAG.
cnr_registry_push_oci() { # DIR TAG REPO:TAG [skopeo args...]
	_dir=$1 _tag=$2 _dst=$3
	shift 3
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$_dir:$_tag" "docker://$CNR_REGISTRY/$_dst" ||
		fail "skopeo copy to $CNR_REGISTRY/$_dst"
}
