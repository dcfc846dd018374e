#!/bin/sh
# containr snapshot ls/inspect/rm/diff/export/import/verify against a real
# containrd: the leaf rule, a diff that our own apply reads back into the
# same tree, export -> import -> verify, a tampered export refused with
# nothing left, and THREATS.md 23 (a hostile archive: no host read, no
# device, annotations and hooks ignored, reserved labels dropped, no tag).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/images.sh"
cnr_need_root
cnr_need_busybox
cnr_need_tool python3 tar cmp sha256sum

cnr_start
S=$CNR_ROOT/snapshots/overlay2
audit=$CNR_LOG/containrd.audit.jsonl
A="python3 $top_srcdir/tests/snaparchive.py"
T=$CNR_TMP
n_audit() { grep -c "\"op\":\"$1\".*\"result\":\"ok\"" "$audit" 2>/dev/null || true; }
snapdirs() { ls "$S" | wc -l; }
blobs() { find "$CNR_ROOT/content/blobs" -type f | wc -l; }
field() { # KEY FIELD
	"$CONTAINR" snapshot inspect "$1" | python3 -c "import json,sys; v=json.load(sys.stdin)$2; print(v if isinstance(v,str) else json.dumps(v, sort_keys=True))"
}
fsdir() { echo "$S/$(field "$1" '["Id"]')/fs"; }
# owner, mode, size, mtime (ns), type, link target and content digest of
# every entry; a whiteout's time is when it was made, not layer content
tree() { (cd "$1" && find . -mindepth 1 -printf '%P %U:%G %m %s %T@ %y %l\n' | awk '$6 == "c" { $5 = "-" } 1' | sort &&
	find . -type f -exec sha256sum {} + | sort -k2); }

# ---- an image's snapshot: ls, inspect, verify ----
cnr_busybox_image bb:1 >/dev/null || fail "import busybox"
unpacked() { [ "$(n_audit image_unpack)" -ge 1 ]; }
cnr_wait_for 30 unpacked || { cnr_dump_logs; fail "no unpack"; }
base=$("$CONTAINR" snapshot ls -q) || fail "snapshot ls"
[ "$(echo "$base" | wc -l)" = 1 ] || fail "expected one snapshot, got: $base"
case $base in sha256:*) ;; *) fail "the image snapshot is not a chain id: $base" ;; esac
[ "$("$CONTAINR" snapshot ls -q -f kind==committed)" = "$base" ] || fail "filter kind==committed"
[ -z "$("$CONTAINR" snapshot ls -q -f kind==active)" ] || fail "filter kind==active is not empty"
[ "$(field "$base" '["Kind"]')" = Committed ] || fail "inspect Kind"
[ "$(field "$base" '["Usage"]["Size"]')" -gt 0 ] || fail "inspect Usage.Size"
case $(field "$base" '["DiffID"]') in sha256:*) ;; *) fail "no diff_id recorded at unpack" ;; esac
"$CONTAINR" snapshot verify "$base" | grep -q "OK" || fail "verify of the image snapshot"
"$CONTAINR" snapshot inspect nosuch 2>"$T/err" && fail "inspect of a missing key succeeded"
grep -q "does not exist" "$T/err" || fail "inspect error: $(cat "$T/err")"
pass "ls (filters), inspect (Stat + Usage), verify of an unpacked image snapshot"

# ---- import a child made by hand; rm keeps to leaves ----
$A layer "$T/l1.tar"
$A wrap "$T/l1.tar" "$T/a1.tar" "$base"
"$CONTAINR" snapshot import "$T/a1.tar" child >/dev/null || { cnr_dump_logs; fail "import child"; }
[ "$(field child '["Parent"]')" = "$base" ] || fail "child's parent is not the archive's"
[ "$(field child '["Labels"]')" = '{"purpose": "test"}' ] || fail "labels: $(field child '["Labels"]')"
C=$(fsdir child)
[ "$(cat "$C/data/hello.txt")" = "hello from a layer" ] || fail "data/hello.txt"
[ "$(stat -c %i "$C/data/hello.txt")" = "$(stat -c %i "$C/data/hello-link")" ] || fail "hardlink lost"
[ "$(stat -c '%F %t:%T' "$C/bin/false")" = "character special file 0:0" ] || fail "bin/false is not a whiteout"
if command -v getfattr >/dev/null; then
	getfattr -n trusted.overlay.opaque --only-values "$C/etc" 2>/dev/null | grep -q y || fail "etc is not opaque"
	getfattr -n user.note --only-values "$C/data/hello.txt" 2>/dev/null | grep -q kept || fail "user.note lost"
fi
"$CONTAINR" snapshot rm "$base" 2>"$T/err" && fail "rm of a snapshot with a child succeeded"
grep -q "child" "$T/err" || fail "rm error: $(cat "$T/err")"
"$CONTAINR" snapshot ls -q | grep -qx "$base" || fail "the parent went away"
pass "import a child; rm of a non-leaf refused"

# ---- diff: an OCI layer our apply reads back into the same tree ----
"$CONTAINR" snapshot diff child -o "$T/d1.tar" 2>"$T/out" || fail "diff"
want=$(sha256sum <"$T/d1.tar" | cut -d' ' -f1)
grep -q "diff_id sha256:$want" "$T/out" || fail "diff_id printed is not the tar's sha256: $(cat "$T/out")"
tar tf "$T/d1.tar" >"$T/list"
for e in data/ data/hello.txt data/hello-link bin/.wh.false bin/.wh.sleep etc/.wh..wh..opq etc/hostname; do
	grep -qx "$e" "$T/list" || fail "diff lacks $e: $(tr '\n' ' ' <"$T/list")"
done
"$CONTAINR" snapshot diff child >"$T/d1b.tar" || fail "diff to stdout"
cmp -s "$T/d1.tar" "$T/d1b.tar" || fail "two diffs of one snapshot differ"
"$CONTAINR" snapshot diff --gzip child -o "$T/d1.tar.gz" 2>/dev/null || fail "diff --gzip"
gzip -dc "$T/d1.tar.gz" | cmp -s - "$T/d1.tar" || fail "gzip diff does not decompress to the tar"
$A wrap "$T/d1.tar" "$T/a2.tar" "$base"
"$CONTAINR" snapshot import "$T/a2.tar" child2 >/dev/null || fail "import the diff"
tree "$C" >"$T/t1"
tree "$(fsdir child2)" >"$T/t2"
cmp -s "$T/t1" "$T/t2" || { diff "$T/t1" "$T/t2" | head; fail "diff applied onto the parent gives another tree"; }
"$CONTAINR" snapshot diff child2 -o "$T/d2.tar" 2>/dev/null || fail "diff child2"
cmp -s "$T/d1.tar" "$T/d2.tar" || fail "diff of the round trip differs"
pass "diff: OCI whiteouts and opaque markers, stable bytes, gzip, round trip through apply"

# ---- export -> import -> verify ----
"$CONTAINR" snapshot export child -o "$T/e1.tar" 2>/dev/null || fail "export"
[ "$(tar tf "$T/e1.tar" | tr '\n' ' ')" = "snapshot.json layer.tar " ] || fail "export members: $(tar tf "$T/e1.tar")"
"$CONTAINR" snapshot import "$T/e1.tar" copy >/dev/null || fail "import the export"
[ "$(field copy '["Parent"]')" = "$base" ] || fail "copy's parent"
"$CONTAINR" snapshot verify copy | grep -q OK || fail "verify copy"
tree "$(fsdir copy)" >"$T/t3"
cmp -s "$T/t1" "$T/t3" || fail "export/import gives another tree"
"$CONTAINR" snapshot export "$base" -o "$T/e0.tar" 2>/dev/null || fail "export of a snapshot without parent"
"$CONTAINR" snapshot import "$T/e1.tar" copy 2>/dev/null && fail "import over an existing name succeeded"
pass "export -> import under a new name -> verify OK, identical tree"

# ---- a tampered export: refused, nothing left ----
$A tamper "$T/e1.tar" "$T/bad.tar"
nd=$(snapdirs); nb=$(blobs); ns=$("$CONTAINR" snapshot ls -q | wc -l)
"$CONTAINR" snapshot import "$T/bad.tar" bad 2>"$T/err" && fail "a tampered archive was imported"
grep -qi "digest" "$T/err" || fail "tampered: not a digest error: $(cat "$T/err")"
[ "$("$CONTAINR" snapshot ls -q | wc -l)" = "$ns" ] || fail "a snapshot row was left: $("$CONTAINR" snapshot ls -q)"
[ "$(snapdirs)" = "$nd" ] || fail "a snapshot directory was left"
[ "$(blobs)" = "$nb" ] || fail "a blob was left"
# a layer that does not apply (a gzip layer.tar whose diff_id is its own digest) leaves nothing either
gzip -c "$T/l1.tar" >"$T/l1.gz"
$A wrap "$T/l1.gz" "$T/gz.tar"
"$CONTAINR" snapshot import "$T/gz.tar" bad 2>"$T/err" && fail "a compressed layer.tar was accepted"
grep -q "diff_id mismatch" "$T/err" || fail "gz: $(cat "$T/err")"
[ "$("$CONTAINR" snapshot ls -q | wc -l)" = "$ns" ] && [ "$(snapdirs)" = "$nd" ] && [ "$(blobs)" = "$nb" ] ||
	fail "a failed apply left something"
pass "tampered or mismatched archives are refused and leave no row, directory or blob"

# ---- verify notices a change on disk ----
echo tampered >>"$(fsdir copy)/data/hello.txt"
"$CONTAINR" snapshot verify copy >"$T/out" && fail "verify missed a change"
grep -q MISMATCH "$T/out" || fail "verify: $(cat "$T/out")"
"$CONTAINR" snapshot rm copy >/dev/null || fail "rm copy"
pass "verify reports a mismatch after the tree changed"

# ---- THREATS 23: a hostile archive ----
$A hostile "$T/l1.tar" "$T/h.tar"
imgs=$("$CONTAINR" images -a -q)
rm -f /tmp/cnr-pwned
sup=$(cnr_pid_of supervisor) || fail "no supervisor"
trace=
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=open,openat,openat2,readlink,readlinkat,stat,newfstatat,statx -p "$sup" \
		-o "$T/strace" 2>/dev/null &
	trace=$!
	sleep 1
fi
"$CONTAINR" snapshot import "$T/h.tar" hostile >"$T/out" 2>"$T/err" || fail "hostile import: $(cat "$T/err")"
if [ -n "$trace" ]; then
	sleep 1
	kill "$trace" 2>/dev/null
	wait "$trace" 2>/dev/null
	grep -q "content" "$T/strace" || echo "note: strace saw no open of the content store (attach failed?)"
	! grep -E "shadow|container\.log|config\.json|hooks|dev-sda" "$T/strace" ||
		fail "the supervisor touched a path named in the archive"
fi
for m in container.log config.json hooks/prestart dev-sda shadow-link; do
	grep -q "ignored archive member \`$m\`" "$T/err" || fail "$m not reported as ignored: $(cat "$T/err")"
done
grep -q "dropped reserved label \`io.containr.image\`" "$T/err" || fail "reserved label not dropped"
[ "$(field hostile '["Labels"]')" = '{"purpose": "hostile"}' ] || fail "labels: $(field hostile '["Labels"]')"
rec=$(grep '"op":"snapshot_import"' "$audit" | grep '"name":"hostile"' | tail -1)
for f in annotations devices hooks image tag; do
	echo "$rec" | grep -q "\"$f\"" || fail "audit does not list ignored field $f: $rec"
done
now=$("$CONTAINR" images -a -q)
[ "$now" = "$imgs" ] || fail "the image list changed: $now"
"$CONTAINR" images | grep -q evil && fail "an image or tag named evil appeared"
H=$(fsdir hostile)
[ -z "$(find "$H" -type b)" ] || fail "a block device was created"
[ -z "$(find "$H" -type c ! -exec sh -c '[ "$(stat -c %t:%T "$1")" = 0:0 ]' _ {} \; -print)" ] ||
	fail "a character device other than a whiteout was created"
[ ! -e "$H/container.log" ] && [ ! -e "$H/dev-sda" ] && [ ! -e "$H/shadow-link" ] || fail "a skipped member landed in the tree"
[ ! -e /tmp/cnr-pwned ] || fail "a hook ran"
pass "THREATS 23: hostile archive: members ignored unread, no host read, no device, annotations and hooks ignored, reserved labels dropped, no tag"

echo "snapshot-cmds.sh: all passed"
