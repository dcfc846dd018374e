#!/bin/sh
# Registry interop against Debian's docker-registry on 127.0.0.1: pull what
# skopeo pushed; push with containr and read it back with skopeo
# bit-identical; a multi-platform index; cross-repository mounts; chunked
# uploads; Basic auth with login/logout, credentials never logged.
set -u
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/registry.sh"
cnr_need_root
cnr_need_registry

cnr_start
cnr_registry_start
W=$(mktemp -d /tmp/cnr-regtest.XXXXXX)
trap 'rm -rf "$W"; cnr_registry_stop; cnr_stop' EXIT
CONTENT=$CNR_ROOT/content/blobs/sha256

# ---- pull what skopeo pushed ----
M1=$(cnr_oci_image "$W/img1" amd64 3 128 v1)
cnr_registry_push_oci "$W/img1" v1 test/bb:v1
out=$("$CONTAINR" pull "$CNR_REGISTRY/test/bb:v1" 2>&1 </dev/null) || fail "pull: $out"
echo "$out" | grep -q "^Digest: $M1" || fail "pull printed another digest: $out"
for b in "$W"/img1/blobs/sha256/*; do
	h=$(basename "$b")
	[ -f "$CONTENT/$h" ] || fail "blob $h is not in the content store after the pull"
	cmp -s "$b" "$CONTENT/$h" || fail "blob $h differs from what was pushed"
	[ "$(cnr_sha256 "$CONTENT/$h")" = "$h" ] || fail "stored blob $h does not hash to its name"
done
"$CONTAINR" images | grep -q "$CNR_REGISTRY/test/bb *v1" || fail "the pulled image is not listed"
pass "pull of a skopeo-pushed image: every blob stored, verified, recorded"

out=$("$CONTAINR" pull -q "$CNR_REGISTRY/test/bb:v1" </dev/null) || fail "second pull: $out"
[ "$out" = "$CNR_REGISTRY/test/bb:v1" ] || fail "pull -q printed: $out"
pass "pull again: -q prints only the reference"

out=$("$CONTAINR" pull "$CNR_REGISTRY/test/bb@$M1" </dev/null) || fail "pull by digest: $out"
pass "pull by digest"

# ---- errors: not found ----
out=$("$CONTAINR" pull "$CNR_REGISTRY/test/bb:nope" 2>&1 </dev/null) && fail "pull of a missing tag succeeded"
echo "$out" | grep -q "not found" || fail "missing tag: $out"
out=$("$CONTAINR" pull "$CNR_REGISTRY/no/such:v1" 2>&1 </dev/null) && fail "pull of a missing repo succeeded"
echo "$out" | grep -q "not found" || fail "missing repository: $out"
pass "missing tag and repository: not found"

# ---- push, then skopeo reads it back bit-identical ----
"$CONTAINR" tag "$CNR_REGISTRY/test/bb:v1" "$CNR_REGISTRY/pushed/bb:v2" || fail "tag"
out=$("$CONTAINR" push "$CNR_REGISTRY/pushed/bb:v2" </dev/null) || fail "push: $out"
echo "$out" | grep -q "mounted" || fail "push did not report mounts: $out"
echo "$out" | grep -q "3 mounted\|4 mounted" || fail "push from another repo of the registry did not mount: $out"
skopeo inspect --tls-verify=false "docker://$CNR_REGISTRY/pushed/bb:v2" >"$W/inspect.json" || fail "skopeo inspect"
grep -q "\"Digest\": \"$M1\"" "$W/inspect.json" || fail "skopeo sees another digest: $(cat "$W/inspect.json")"
skopeo copy -q --src-tls-verify=false "docker://$CNR_REGISTRY/pushed/bb:v2" "oci:$W/back:v2" || fail "skopeo copy back"
for b in "$W"/back/blobs/sha256/*; do
	h=$(basename "$b")
	[ -f "$CONTENT/$h" ] || continue # skopeo's own index
	cmp -s "$b" "$CONTENT/$h" || fail "blob $h read back differs"
done
cmp -s "$W/back/blobs/sha256/${M1#sha256:}" "$CONTENT/${M1#sha256:}" || fail "manifest read back differs"
pass "push (cross-repository mounts): skopeo inspects it and copies it back bit-identical"

# a fresh repository on an image with no other name there: real uploads,
# one layer over the chunk size (PATCH chunks)
M2=$(cnr_oci_image "$W/big" amd64 2 34000 v1)
cnr_registry_push_oci "$W/big" v1 src/big:v1
"$CONTAINR" pull -q "$CNR_REGISTRY/src/big:v1" </dev/null >/dev/null || fail "pull big"
"$CONTAINR" rmi "$CNR_REGISTRY/src/big:v1" >/dev/null 2>&1
# the blobs stay in the store until GC; name it somewhere else only
"$CONTAINR" pull -q "$CNR_REGISTRY/src/big:v1" </dev/null >/dev/null || fail "pull big again"
"$CONTAINR" tag "$CNR_REGISTRY/src/big:v1" "$CNR_REGISTRY/dst/big:v1" || fail "tag big"
"$CONTAINR" rmi "$CNR_REGISTRY/src/big:v1" >/dev/null || fail "rmi src name"
out=$("$CONTAINR" push "$CNR_REGISTRY/dst/big:v1" </dev/null) || fail "chunked push: $out"
echo "$out" | grep -q "Pushed 3 blobs" || fail "chunked push did not upload 3 blobs: $out"
grep -q "PATCH http://$CNR_REGISTRY/v2/dst/big/blobs/uploads/" "$CNR_LOG/containrd.log" ||
	fail "no PATCH chunk in the log"
skopeo copy -q --src-tls-verify=false "docker://$CNR_REGISTRY/dst/big:v1" "oci:$W/bigback:v1" || fail "copy big back"
for b in "$W"/big/blobs/sha256/*; do
	cmp -s "$b" "$W/bigback/blobs/sha256/$(basename "$b")" || fail "big blob $(basename "$b") differs"
done
out=$("$CONTAINR" push "$CNR_REGISTRY/dst/big:v1" </dev/null) || fail "push again: $out"
echo "$out" | grep -q "3 already there" || fail "second push re-uploaded: $out"
pass "push: monolithic and chunked (PATCH) uploads read back identical; a second push skips existing blobs"

# ---- multi-platform index ----
mkdir -p "$W/multi"
echo '{"imageLayoutVersion":"1.0.0"}' >"$W/multi/oci-layout"
MA=$(cnr_oci_manifest "$W/multi" amd64 1)
MB=$(cnr_oci_manifest "$W/multi" arm64 2)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}}]}' \
	"$MB" "$(cnr_size "$W/multi/blobs/sha256/$MB")" "$MA" "$(cnr_size "$W/multi/blobs/sha256/$MA")" >"$W/multi/idx.json"
IH=$(cnr_oci_blob "$W/multi" "$W/multi/idx.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
	"$IH" "$(cnr_size "$W/multi/idx.json")" >"$W/multi/index.json"
cnr_registry_push_oci "$W/multi" multi test/multi:m --all
host_arch=$(uname -m)
case $host_arch in
x86_64) want=$MA ;;
aarch64) want=$MB ;;
*) want= ;;
esac
if [ -n "$want" ]; then
	out=$("$CONTAINR" pull "$CNR_REGISTRY/test/multi:m" </dev/null) || fail "pull index: $out"
	echo "$out" | grep -q "^Digest: sha256:$want" || fail "default platform picked another manifest: $out"
fi
out=$("$CONTAINR" pull --platform linux/arm64 "$CNR_REGISTRY/test/multi:m" </dev/null) || fail "pull arm64: $out"
echo "$out" | grep -q "^Digest: sha256:$MB" || fail "--platform linux/arm64 picked another manifest: $out"
echo "$out" | grep -q "linux/arm64" || fail "arm64 image platform: $out"
out=$("$CONTAINR" pull --platform linux/amd64 "$CNR_REGISTRY/test/multi:m" </dev/null) || fail "pull amd64: $out"
echo "$out" | grep -q "^Digest: sha256:$MA" || fail "--platform linux/amd64 picked another manifest: $out"
out=$("$CONTAINR" pull --platform linux/s390x "$CNR_REGISTRY/test/multi:m" 2>&1 </dev/null) &&
	fail "pull of a platform the index lacks succeeded"
echo "$out" | grep -qi "s390x" || fail "missing platform error: $out"
pass "multi-platform index: the host's platform by default, --platform picks, a missing one is a clear error"

# ---- Basic auth, login, logout ----
cnr_registry_stop
cnr_registry_start --htpasswd alice 'S3cret-pa55-word'
cnr_registry_push_oci "$W/img1" v1 auth/bb:v1 --dest-creds 'alice:S3cret-pa55-word'
export DOCKER_CONFIG="$W/dockercfg"
out=$("$CONTAINR" pull "$CNR_REGISTRY/auth/bb:v1" 2>&1 </dev/null) && fail "anonymous pull from an auth registry worked"
echo "$out" | grep -q "unauthorized" || fail "anonymous pull error: $out"
out=$(echo wrong | "$CONTAINR" login -u alice --password-stdin "$CNR_REGISTRY" 2>&1) && fail "login with a wrong password"
echo "$out" | grep -q "unauthorized" || fail "wrong password error: $out"
[ -e "$DOCKER_CONFIG/config.json" ] && fail "a refused login wrote the credentials file"
out=$(echo 'S3cret-pa55-word' | "$CONTAINR" login -u alice --password-stdin "$CNR_REGISTRY" 2>&1) || fail "login: $out"
[ "$(stat -c %a "$DOCKER_CONFIG/config.json")" = 600 ] || fail "config.json is not 0600"
grep -q "\"$CNR_REGISTRY\"" "$DOCKER_CONFIG/config.json" || fail "no entry for the registry"
out=$("$CONTAINR" pull "$CNR_REGISTRY/auth/bb:v1" </dev/null) || fail "pull with stored credentials: $out"
"$CONTAINR" tag "$CNR_REGISTRY/auth/bb:v1" "$CNR_REGISTRY/auth/copy:v1" || fail "tag"
out=$("$CONTAINR" push "$CNR_REGISTRY/auth/copy:v1" 2>&1 </dev/null) || fail "push with stored credentials: $out"
sleep 0.5
if grep -rq 'S3cret-pa55-word' "$CNR_LOG"; then
	fail "the password appears under $CNR_LOG: $(grep -rl 'S3cret-pa55-word' "$CNR_LOG")"
fi
b64=$(printf 'alice:S3cret-pa55-word' | base64)
grep -rq "$b64" "$CNR_LOG" && fail "the encoded credentials appear in a log"
grep -q '"op":"pull"' "$CNR_LOG/containrd.audit.jsonl" || fail "pull not audited"
out=$("$CONTAINR" logout "$CNR_REGISTRY") || fail "logout: $out"
grep -q "\"$CNR_REGISTRY\"" "$DOCKER_CONFIG/config.json" && fail "logout left the entry"
out=$("$CONTAINR" logout "$CNR_REGISTRY") || fail "second logout: $out"
echo "$out" | grep -q "Not logged in" || fail "second logout: $out"
pass "Basic auth: refused anonymous and wrong password, login stores 0600, pull and push with it, no secret in logs or audit, logout"

# ---- the supervisor was never killed by its seccomp filter ----
grep -q "signal 31\|SIGSYS" "$CNR_LOG/containrd.log" && fail "a process died of SIGSYS"
sup=$(cnr_pid_of supervisor) || fail "the supervisor is gone"
pass "no SIGSYS; supervisor still running (pid $sup)"
