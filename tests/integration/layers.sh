#!/bin/sh
# Layer apply in containr-snapd against hostile tarballs (THREATS.md
# 16-22), driven by tests/helper-drive exactly as the supervisor drives it;
# the tarballs are written by tests/mktar.  For each case: the refusal (or
# the confined result), nothing written outside the snapshot's fs, the
# audit record.  Needs root (exit 77 = skipped otherwise).
set -u

if [ -n "${CNR_UNIT_ONLY:-}" ]; then
        echo "SKIP: CNR_UNIT_ONLY (integration suites run in the main pass)"
        exit 77
fi
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: snapd must be started as root"
        exit 77
fi
: "${top_builddir:?}" "${top_srcdir:?}"

DRIVE=$top_builddir/tests/helper-drive
MKTAR=$top_builddir/tests/mktar
SNAPD=$top_builddir/helpers/containr-snapd
T=$(mktemp -d "${TMPDIR:-/tmp}/cnr-layers.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
ID=64996
ROOT=$T/base/dest # THREATS 18: the sibling dest-evil sits beside it
mkdir -p "$ROOT" "$T/base/dest-evil"
echo secret >"$T/base/dest-evil/secret"
chown $ID:$ID "$ROOT"
chmod 700 "$ROOT"
echo outside >"$T/outside"
chmod 600 "$T/outside"
FS=$ROOT/overlay2

fails=0
fail() {
        echo "FAIL: $*"
        fails=$((fails + 1))
}
pass() { echo "ok: $*"; }
has() { if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no \`$2\` in $(basename "$1"))"; fi; }

mk() { # mk NAME [-z gzip|zstd] SPEC...
        n=$1
        shift
        "$MKTAR" -o "$T/$n.tar" "$@" || fail "mktar $n"
}
drive() { # drive RUN CMD...: output in $T/RUN.out
        run=$1
        shift
        "$DRIVE" --uid $ID --gid $ID --audit "$T/audit" --snapshot-root "$ROOT" --timeout 120 "$SNAPD" "$@" \
                >"$T/$run.out" 2>"$T/$run.err"
        echo $? >"$T/$run.rc"
        sed "s/^/$run: /" "$T/$run.out"
        grep -q 'killed by signal' "$T/$run.out" && fail "$run: snapd killed by a signal"
        [ "$(cat "$T/$run.rc")" = 0 ] || fail "$run: helper-drive exit $(cat "$T/$run.rc")"
}
nothing_outside() { # nothing new outside the snapshot root
        n=$(find "$T" -path "$ROOT" -prune -o -newer "$T/stamp" -print | grep -v "^$T$" | grep -v "$T/[a-z0-9-]*\.\(tar\|out\|err\|rc\)$" |
                grep -v "^$T/audit$" | grep -v "^$T/base$" | wc -l)
        [ "$n" = 0 ] && pass "$1: nothing written outside the snapshot root" ||
                fail "$1: written outside: $(find "$T" -path "$ROOT" -prune -o -newer "$T/stamp" -print | tr '\n' ' ')"
}

# ---- a well-formed layer and its whiteouts -------------------------------
mk good -z gzip d:etc f:etc/passwd:root:0644 f:bin/su:x:4755:0:0 d:tmp:1777 l:lib:usr/lib d:usr/lib \
        x:usr/lib/x:data:user.k:v x:usr/lib/t:data:trusted.overlay.redirect:/etc h:bin/su2:bin/su c:dev/null:1:3 \
        p:run/fifo f:/abs/file:a f:./dot//file:b f:owned:o:0640:1000:1001
mk upper w:etc/.wh.passwd d:usr f:usr/.wh..wh..opq f:usr/new:n w:.wh.tmp d:tmp:0700 w:gone/.wh.x
touch "$T/stamp"
sleep 1
drive good create g1 create g2:g1:work apply g1 "$T/good.tar" apply g2 "$T/upper.tar" usage g1 list
diffid=$(gzip -dc "$T/good.tar" | sha256sum | cut -d' ' -f1)
has "$T/good.out" "ok apply g1 diff_id=sha256:$diffid " "gzip layer applied; diff_id = sha256 of the uncompressed tar"
d2=$(sha256sum <"$T/upper.tar" | cut -d' ' -f1)
has "$T/good.out" "ok apply g2 diff_id=sha256:$d2 " "uncompressed layer applied; diff_id"
has "$T/good.out" "ok list [" "list answers"
L=$FS/g1/fs
[ "$(cat "$L/etc/passwd")" = root ] && pass "file content" || fail "etc/passwd content"
[ "$(stat -c '%a %u:%g' "$L/bin/su")" = "4755 0:0" ] && pass "setuid bit kept" || fail "bin/su is $(stat -c '%a %u:%g' "$L/bin/su")"
[ "$(stat -c '%a' "$L/tmp")" = 1777 ] && pass "sticky dir kept" || fail "tmp is $(stat -c %a "$L/tmp")"
[ "$(stat -c '%a %u:%g' "$L/owned")" = "640 1000:1001" ] && pass "owner kept" || fail "owned is $(stat -c '%a %u:%g' "$L/owned")"
[ "$(readlink "$L/lib")" = usr/lib ] && pass "symlink kept as data" || fail "lib -> $(readlink "$L/lib")"
[ "$(stat -c %i "$L/bin/su")" = "$(stat -c %i "$L/bin/su2")" ] && pass "hardlink within the layer" || fail "bin/su2 not a hardlink"
[ "$(stat -c '%F %t:%T' "$L/dev/null")" = "character special file 1:3" ] && pass "device node" || fail "dev/null: $(stat -c '%F %t:%T' "$L/dev/null")"
[ -p "$L/run/fifo" ] && pass "fifo" || fail "run/fifo"
[ -f "$L/abs/file" ] && [ -f "$L/dot/file" ] && pass "absolute and ./ names land under the root" || fail "abs/dot names"
[ "$(stat -c %Y "$L/etc")" = 1000000000 ] && pass "directory mtime set after its children" || fail "etc mtime $(stat -c %Y "$L/etc")"
xv() { python3 -c "import os,sys
try: print(os.getxattr(sys.argv[1], sys.argv[2]).decode())
except OSError: print('-')" "$1" "$2"; }
[ "$(xv "$L/usr/lib/x" user.k)" = v ] && pass "user.* xattr kept" || fail "user.k on usr/lib/x"
[ "$(xv "$L/usr/lib/t" trusted.overlay.redirect)" = - ] && pass "trusted.overlay.* xattr from a layer dropped" ||
        fail "trusted.overlay.redirect was set from a layer"
U=$FS/g2/fs
[ "$(stat -c '%F %t:%T' "$U/etc/passwd")" = "character special file 0:0" ] && pass ".wh.passwd -> 0/0 whiteout" ||
        fail "etc/passwd in the upper: $(stat -c '%F %t:%T' "$U/etc/passwd" 2>&1)"
[ "$(xv "$U/usr" trusted.overlay.opaque)" = y ] && pass ".wh..wh..opq -> trusted.overlay.opaque=y" || fail "usr not opaque"
[ -f "$U/usr/new" ] && pass "opaque dir keeps this layer's children" || fail "usr/new missing"
[ "$(xv "$U/tmp" trusted.overlay.opaque)" = y ] && [ "$(stat -c %a "$U/tmp")" = 700 ] &&
        pass "a directory replacing a whiteout of its layer is opaque" || fail "tmp after .wh.tmp is not an opaque dir"
[ "$(stat -c '%F' "$U/gone/x")" = "character special file" ] && pass "whiteout under a missing parent" || fail "gone/x"
nothing_outside "good layers"

# ---- directories a layer implies take the lower layer's owner and mode ----
mk lowerdirs d:tmp:1777 d:var:0750:5:6 d:var/lib:0700:7:8
mk implied f:tmp/x:x w:var/.wh.gone f:var/lib/new/f:y d:usr/.wh..wh..opq
drive implied create lo create up:lo:work apply lo "$T/lowerdirs.tar" apply up:0:0:lo "$T/implied.tar" \
        create nolo create up2:nolo:work apply up2 "$T/implied.tar"
I=$FS/up/fs
[ "$(stat -c '%a %u:%g' "$I/tmp")" = "1777 0:0" ] && pass "implied tmp keeps the lower 1777" ||
        fail "implied tmp is $(stat -c '%a %u:%g' "$I/tmp")"
[ "$(stat -c '%a %u:%g' "$I/var")" = "750 5:6" ] && [ "$(stat -c '%a %u:%g' "$I/var/lib")" = "700 7:8" ] &&
        pass "implied var and var/lib keep the lower owners and modes" ||
        fail "implied var is $(stat -c '%a %u:%g' "$I/var"), var/lib $(stat -c '%a %u:%g' "$I/var/lib")"
[ "$(stat -c '%a %u:%g' "$I/var/lib/new")" = "755 0:0" ] && pass "a directory no layer has is 0755 0:0" ||
        fail "var/lib/new is $(stat -c '%a %u:%g' "$I/var/lib/new")"
[ "$(stat -c '%a' "$FS/up2/fs/tmp")" = 755 ] && pass "without lowers, implied directories are 0755" ||
        fail "up2 tmp is $(stat -c '%a' "$FS/up2/fs/tmp")"
has "$T/audit" '"op":"snap_apply","args":{"id":"up","max_bytes":10737418240,"max_entries":1000000,"lower":["lo"],"diff_id"' \
        "apply audits its lowers"

# ---- THREATS 16: ../x, /../x, .. ----------------------------------------
touch "$T/stamp"
sleep 1
for n in '../x' '/../x' '..' 'a/../../x'; do
        mk t16 "f:$n:pwned"
        drive t16 create t16 "!apply" t16 "$T/t16.tar" remove t16
        has "$T/t16.out" "error apply t16: EINVAL: " "THREATS 16: entry \`$n\` refused"
        has "$T/t16.out" "a \`..\` component" "THREATS 16: \`$n\`: the error names the cause"
done
[ ! -e "$T/x" ] && [ ! -e "$T/base/x" ] && [ ! -e "$ROOT/x" ] && [ ! -e "$FS/x" ] && pass "THREATS 16: no x anywhere" ||
        fail "THREATS 16: x written outside"
has "$T/audit" '"op":"snap_apply","args":{"id":"t16","max_bytes":10737418240,"max_entries":1000000,"lower":[]},"decision":"deny"' \
        "THREATS 16: refusal audited deny"
nothing_outside "THREATS 16"

# ---- THREATS 17: symlink then file --------------------------------------
touch "$T/stamp"
sleep 1
mk t17a d:etc l:etcl:/etc f:etcl/passwd:inside
mk t17b d:etc l:up:../../../../../../etc f:up/hosts:inside
mk t17c "l:evil:$T" f:evil/pwned:x
mk t17d l:etc:/etc f:etc/passwd:x
drive t17 create t17 apply t17 "$T/t17a.tar" apply t17 "$T/t17b.tar" create t17c "!apply" t17c "$T/t17c.tar" \
        create t17d "!apply" t17d "$T/t17d.tar"
[ "$(cat "$FS/t17/fs/etc/passwd" 2>/dev/null)" = inside ] && pass "THREATS 17: symlink to /etc then etc/passwd lands in the layer's etc" ||
        fail "THREATS 17: etcl/passwd not in the layer's etc"
[ "$(cat "$FS/t17/fs/etc/hosts" 2>/dev/null)" = inside ] && pass "THREATS 17: symlink up and out is clamped to the layer root" ||
        fail "THREATS 17: up/hosts"
[ ! -e "$T/pwned" ] && pass "THREATS 17: symlink to the host's test dir not followed" || fail "THREATS 17: $T/pwned written"
has "$T/t17.out" "error apply t17c: ENOENT: " "THREATS 17: a link to a directory the layer lacks is an error (no parent made through it)"
has "$T/t17.out" "error apply t17d: ELOOP: " "THREATS 17: a self-referencing etc -> /etc is an error, not an escape"
grep -q '^x$' /etc/passwd && fail "THREATS 17: /etc/passwd touched"
nothing_outside "THREATS 17"

# ---- THREATS 18: hardlink to a prefix sibling ----------------------------
touch "$T/stamp"
sleep 1
mk t18a h:stolen:../dest-evil/secret
mk t18b "h:stolen:$T/base/dest-evil/secret"
mk t18c h:stolen:/etc/shadow
drive t18 create t18 '!apply' t18 "$T/t18a.tar" '!apply' t18 "$T/t18b.tar" '!apply' t18 "$T/t18c.tar"
has "$T/t18.out" "error apply t18: EINVAL: " "THREATS 18: hardlink to ../dest-evil/secret refused"
n=$(grep -c '^error apply t18' "$T/t18.out")
[ "$n" = 3 ] && pass "THREATS 18: absolute hardlink targets name files of the layer only (3 refusals)" || fail "THREATS 18: $n refusals"
[ ! -e "$FS/t18/fs/stolen" ] && [ "$(stat -c %h "$T/base/dest-evil/secret")" = 1 ] && pass "THREATS 18: no link made" ||
        fail "THREATS 18: a link was made"
nothing_outside "THREATS 18"

# ---- THREATS 19: symlink out, hardlink to it, chmod 0777 -----------------
touch "$T/stamp"
sleep 1
mk t19 "l:s:$T/outside" h:h:s f:h:new:0777 d:s:0777
drive t19 create t19 apply t19 "$T/t19.tar"
[ "$(stat -c %a "$T/outside")" = 600 ] && [ "$(cat "$T/outside")" = outside ] &&
        pass "THREATS 19: the outside file's mode and content unchanged" || fail "THREATS 19: outside is $(stat -c %a "$T/outside")"
[ -d "$FS/t19/fs/s" ] && [ "$(cat "$FS/t19/fs/h")" = new ] && pass "THREATS 19: entries replaced inside the layer" ||
        fail "THREATS 19: layer content"
nothing_outside "THREATS 19"

# ---- THREATS 20: malformed whiteouts ---------------------------------------
touch "$T/stamp"
sleep 1
mk keep d:etc f:etc/keep:k
drive t20 create t20 apply t20 "$T/keep.tar"
for n in '.wh...' 'etc/.wh...' '.wh.' 'etc/.wh..' '.wh..' 'etc/.wh..wh.foo'; do
        mk t20 "w:$n"
        drive t20 '!apply' t20 "$T/t20.tar"
        has "$T/t20.out" "error apply t20: EINVAL: " "THREATS 20: whiteout \`$n\` refused"
done
[ -f "$FS/t20/fs/etc/keep" ] && pass "THREATS 20: the parent was not wiped" || fail "THREATS 20: etc/keep gone"
nothing_outside "THREATS 20"

# ---- THREATS 21: devices out of range ------------------------------------
mk t21a c:dev/big:4294967297:1
mk t21b b:dev/big:1:4294967297
mk t21c c:dev/wh:0:0
mk t21d c:dev/ok:4095:1048575
drive t21 create t21 '!apply' t21 "$T/t21a.tar" '!apply' t21 "$T/t21b.tar" '!apply' t21 "$T/t21c.tar" apply t21 "$T/t21d.tar"
has "$T/t21.out" "device 4294967297:1 out of range" "THREATS 21: major 2^32+1 refused"
has "$T/t21.out" "device 1:4294967297 out of range" "THREATS 21: minor 2^32+1 refused"
has "$T/t21.out" "a 0/0 character device" "THREATS 21: a 0/0 char device (a forged whiteout) refused"
has "$T/t21.out" "ok apply t21 " "THREATS 21: the largest valid device numbers accepted"
[ ! -e "$FS/t21/fs/dev/big" ] && pass "THREATS 21: no node made" || fail "THREATS 21: dev/big exists"

# ---- THREATS 22: bombs and duplicates --------------------------------------
mk bombgz -z gzip z:big:268435456
mk bombzst -z zstd z:big:1073741824
specs=
i=0
while [ $i -lt 100 ]; do specs="$specs f:f$i:x"; i=$((i + 1)); done
# shellcheck disable=SC2086
mk many $specs
mk dup f:a:one f:a:two d:d f:d:file
ls -l "$T/bombgz.tar" "$T/bombzst.tar" | awk '{print "bomb size:", $5, $9}'
drive t22 create t22 '!apply' t22:67108864:0 "$T/bombgz.tar" usage t22 '!apply' t22:67108864:0 "$T/bombzst.tar" usage t22 \
        '!apply' t22:0:50 "$T/many.tar" create t22d apply t22d "$T/dup.tar" '!apply' t22:2000000000000:0 "$T/dup.tar"
has "$T/t22.out" "error apply t22:67108864:0: EFBIG: " "THREATS 22: gzip/zstd bomb aborted at the byte limit"
n=$(grep -c '^error apply t22:67108864:0: EFBIG' "$T/t22.out")
[ "$n" = 2 ] && pass "THREATS 22: both bombs aborted" || fail "THREATS 22: $n bombs aborted, expected 2"
size=$(sed -n 's/^ok usage t22 size=\([0-9]*\) .*/\1/p' "$T/t22.out" | sort -n | tail -1)
[ -n "$size" ] && [ "$size" -le 70000000 ] && pass "THREATS 22: disk use bounded ($size bytes)" || fail "THREATS 22: disk use $size"
has "$T/t22.out" "error apply t22:0:50: E2BIG: " "THREATS 22: entry limit enforced"
[ "$(cat "$FS/t22d/fs/a")" = two ] && [ -f "$FS/t22d/fs/d" ] && pass "THREATS 22: duplicate entries: the last one wins" ||
        fail "THREATS 22: duplicates"
has "$T/t22.out" "error apply t22:2000000000000:0: EINVAL: " "a limit above 1 TiB refused"
has "$T/audit" '"op":"snap_apply","args":{"id":"t22","max_bytes":67108864,"max_entries":1000000,"lower":[]},"decision":"deny","result":"error","errno":27' \
        "THREATS 22: bomb refusal audited deny"

# ---- not a layer at all ---------------------------------------------------
head -c 4096 /dev/urandom >"$T/junk.tar"
: >"$T/empty.tar"
drive junk create j '!apply' j "$T/junk.tar" '!apply' j "$T/empty.tar" remove j list
n=$(grep -c '^error apply j: EINVAL' "$T/junk.out")
[ "$n" = 2 ] && pass "random bytes and an empty blob refused" || fail "junk: $n refusals"

# ---- removal never follows a link out --------------------------------------
mk rmlink "l:link:$T/base/dest-evil" d:deep d:deep/er f:deep/er/f:x
drive rm create r apply r "$T/rmlink.tar" remove r list
[ -f "$T/base/dest-evil/secret" ] && pass "remove: a symlink to a host dir is unlinked, not followed" || fail "remove followed a link"
[ ! -e "$FS/r" ] && [ ! -e "$FS/rm-r" ] && pass "remove: the tree is gone" || fail "remove left $(ls "$FS")"

echo "$fails failure(s)"
[ $fails = 0 ]
