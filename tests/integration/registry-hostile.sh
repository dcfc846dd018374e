#!/bin/sh
# The registry client against a hostile registry (tests/hostreg, 127.0.0.1
# and 127.0.0.2 only): THREATS.md 24-27 and 39.  Each bad answer must give
# a clear error, leave no blob with a wrong digest and no image record;
# credentials never go to another host; a supervisor killed mid-blob
# leaves nothing half-written and the pull can be redone.
set -u
. "$top_srcdir/tests/lib.sh"
cnr_need_root

W=$(mktemp -d /tmp/cnr-hostile.XXXXXX)
mkdir -p "$W/state"
"$top_builddir/tests/hostreg" "$W/requests.log" "$W/state" >"$W/ports" 2>"$W/hostreg.err" &
HPID=$!
trap 'kill $HPID 2>/dev/null; rm -rf "$W"; cnr_stop' EXIT
n=0
while [ ! -s "$W/ports" ] && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
read -r P1 P2 <"$W/ports" || fail "hostreg did not start: $(cat "$W/hostreg.err")"
R=127.0.0.1:$P1
CNR_EXTRA_CONFIG="registries:
  \"$R\":
    insecure: true
    timeout_s: 2"
export CNR_EXTRA_CONFIG
cnr_start
trap 'kill $HPID 2>/dev/null; rm -rf "$W"; cnr_stop' EXIT
export DOCKER_CONFIG="$W/cfg"
echo p | "$CONTAINR" login -u u --password-stdin "$R" >/dev/null || fail "login to hostreg"
BLOBS=$CNR_ROOT/content/blobs/sha256

# Every blob in the store hashes to its name, and nothing is left in ingest.
store_clean() {
	for f in "$BLOBS"/*; do
		[ -f "$f" ] || continue
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "blob $(basename "$f") has a wrong digest"
	done
	left=$(find "$CNR_ROOT/content" -path '*ingest*' -type f 2>/dev/null | wc -l)
	[ "$left" = 0 ] || fail "$left ingest files left behind"
}

# Every scenario serves the same layer: forget it so that the next one
# downloads again.
reset_store() {
	for r in good flaky redirect bearer; do
		"$CONTAINR" rmi "$R/$r:t" >/dev/null 2>&1
	done
	rm -f "$BLOBS"/*
}

no_image() { # REPO
	"$CONTAINR" images | grep -q "$R/$1 " && fail "an image record exists for $1"
	return 0
}

expect_fail() { # REPO PATTERN WHAT
	out=$("$CONTAINR" pull -q "$R/$1:t" 2>&1 </dev/null) && fail "$3: the pull succeeded"
	echo "$out" | grep -qi "$2" || fail "$3: unclear error: $out"
	store_clean
	no_image "$1"
	pass "$3: $(echo "$out" | sed 's/^containr: //' | cut -c1-150)"
}

out=$("$CONTAINR" pull -q "$R/good:t" 2>&1 </dev/null) || fail "good image: $out"
store_clean
pass "a well-behaved image pulls"
reset_store

expect_fail baddigest "digest mismatch" "blob bytes that do not match the digest (THREATS 24)"
expect_fail short "size mismatch" "blob one byte short of the manifest's size (THREATS 24)"
expect_fail long "size mismatch" "blob one byte longer than the manifest's size (THREATS 24)"
expect_fail truncated "truncated\|broke" "connection closed mid-blob"
grep -c "GET /v2/truncated/blobs" "$W/requests.log" | grep -q '^[2-6]$' ||
	fail "a truncated blob was not retried: $(grep -c "GET /v2/truncated/blobs" "$W/requests.log")"
expect_fail stall "timeout" "server stops sending mid-blob"
expect_fail bigmanifest "limit\|4 MiB\|too large\|over" "manifest over 4 MiB (THREATS 26)"
expect_fail both "both\|layers.*manifests\|manifests.*layers" "manifest with both layers and manifests (THREATS 26)"
expect_fail loop "redirects" "redirect loop stops at 10 (THREATS 27)"
# the first request, then 10 redirects followed (plus the 401 that asked for credentials)
nloop=$(grep "GET /v2/loop/manifests" "$W/requests.log" | grep -c "auth=yes")
[ "$nloop" = 11 ] || fail "followed $((nloop - 1)) redirects"
expect_fail baddcd "digest mismatch" "Docker-Content-Digest that lies about the manifest"

out=$("$CONTAINR" pull -q "$R/good@sha256:0000000000000000000000000000000000000000000000000000000000000000" 2>&1 </dev/null) &&
	fail "a pull by a digest the manifest does not hash to succeeded"
echo "$out" | grep -qi "digest mismatch" || fail "pull by wrong digest: $out"
pass "manifest fetched by digest must hash to it"
for bad in "sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000" "sha256:abc" "sha256:../../x"; do
	before=$(wc -l <"$W/requests.log")
	out=$("$CONTAINR" pull -q "$R/good@$bad" 2>&1 </dev/null) && fail "pull by bad digest $bad succeeded"
	after=$(wc -l <"$W/requests.log")
	[ "$before" = "$after" ] || fail "a bad digest $bad reached the network"
done
pass "bad digest strings are refused before any network use (THREATS 25)"

out=$("$CONTAINR" pull -q "$R/flaky:t" 2>&1 </dev/null) || fail "flaky (503 twice) did not recover: $out"
pass "HTTP 503 twice, then success: retried with backoff"

reset_store
: >"$W/requests.log"
out=$("$CONTAINR" pull -q "$R/redirect:t" 2>&1 </dev/null) || fail "redirect to storage host: $out"
grep -q "^host2 GET /storage/" "$W/requests.log" || fail "the redirect was not followed"
grep "^host2 " "$W/requests.log" | grep -q "auth=yes" && fail "Authorization was sent to the other host"
grep "^host1 GET /v2/redirect/blobs" "$W/requests.log" | grep -q "auth=yes" || fail "host1 got no credentials"
pass "redirect to another host: followed without Authorization (THREATS 27)"

reset_store
: >"$W/requests.log"
out=$("$CONTAINR" pull -q "$R/bearer:t" 2>&1 </dev/null) || fail "bearer: $out"
grep -q "^host2 GET /token" "$W/requests.log" || fail "no token request"
grep "^host2 GET /token" "$W/requests.log" | grep -q "auth=yes" &&
	fail "the credentials went to a plain-http realm on another host"
pass "Bearer realm on another host over http: token fetched without the credentials (THREATS 27)"

grep -rq 'dTpw' "$CNR_LOG" && fail "encoded credentials in the logs"

reset_store

# ---- crash safety: kill -9 the supervisor while a blob streams ----
"$CONTAINR" pull -q "$R/stall:t" >/dev/null 2>&1 </dev/null &
CP=$!
n=0
until grep -q "GET /v2/stall/blobs/sha256" "$W/requests.log" 2>/dev/null && [ $n -gt 5 ]; do
	sleep 0.1
	n=$((n + 1))
	[ $n -gt 100 ] && fail "the stall blob was never requested"
done
sup=$(cnr_pid_of supervisor) || fail "no supervisor"
kill -9 "$sup"
wait $CP 2>/dev/null
cnr_wait_for 20 sh -c "p=\$(cat /proc/$CNR_MONITOR_PID/task/*/children); for x in \$p; do [ \$x != $sup ] && [ \"\$(cat /proc/\$x/comm)\" = containrd ] && exit 0; done; exit 1" ||
	fail "the supervisor was not restarted"
cnr_wait_for 20 "$CONTAINR" version || fail "containrd does not answer after the restart"
store_clean
no_image stall
out=$("$CONTAINR" pull -q "$R/good:t" 2>&1 </dev/null) || fail "pull after the crash: $out"
store_clean
pass "supervisor killed mid-blob: no partial blob, no record; pulls work after the restart (THREATS 39)"
