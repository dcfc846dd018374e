#!/bin/sh
# Integration test of the five helpers, checked from the outside: each one
# is started by tests/helper-drive exactly as the monitor starts it (root,
# fixed fds 3/4/5) with a numeric identity, then
#   - HELLO arrives (protocol checked by the driver);
#   - /proc/<pid>/status: the given uid/gid, CapEff and CapBnd exactly the
#     capabilities man/containr-helpers.7 documents, NoNewPrivs 1, Seccomp 2;
#   - /proc/<pid>/fd: 0-2 /dev/null, 3-4 sockets, 5 the audit log, the event
#     loop (epoll + libevent's signal pipe) and what the helper documents;
#   - its operations really work (tmpfs mount fd, netns fd with lo up,
#     snapshot dirs), its refusals are refused, answered and audited "deny";
#   - a malformed frame or a foreign request makes it exit 3, EOF exit 0,
#     a bad command line exit 2; nothing dies of SIGSYS.
# Needs root (exit 77 = skipped otherwise).
set -u

if [ -n "${CNR_UNIT_ONLY:-}" ]; then
        echo "SKIP: CNR_UNIT_ONLY (integration suites run in the main pass)"
        exit 77
fi
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: the helpers must be started as root"
        exit 77
fi
: "${top_builddir:?}" "${top_srcdir:?}"

DRIVE=$top_builddir/tests/helper-drive
HDIR=$top_builddir/helpers
MAN=$top_srcdir/man/containr-helpers.7
T=$(mktemp -d "${TMPDIR:-/tmp}/cnr-helpers.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"

fails=0
fail() {
        echo "FAIL: $*"
        fails=$((fails + 1))
}
pass() {
        echo "ok: $*"
}
# has FILE STRING DESCRIPTION: FILE holds the fixed string
has() {
        if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no \`$2\` in $(basename "$1"))"; fi
}
hasnt() {
        if grep -qF -- "$2" "$1"; then fail "$3 (\`$2\` in $(basename "$1"))"; else pass "$3"; fi
}

# drive NAME RUN UID [driver options and commands]: output in $T/RUN.{out,err,rc}
drive() {
        name=$1 run=$2 id=$3
        shift 3
        # mountd's runs count mountinfo lines (the driver's and mountd's)
        # around each mount: in a private mount namespace of their own, so
        # that mounts made by suites running beside this one do not count.
        pre=
        [ "$name" = mountd ] && pre="unshare -m --propagation private"
        $pre "$DRIVE" --uid "$id" --gid "$id" --audit "$T/$run.audit" --timeout 20 "$@" \
                >"$T/$run.out" 2>"$T/$run.err"
        echo $? >"$T/$run.rc"
        echo "--- $run: containr-$name $*"
        cat "$T/$run.out"
        if grep -q 'killed by signal' "$T/$run.out"; then
                fail "$run: helper killed by a signal (seccomp allow-list too narrow?)"
        fi
}

rc_is() {
        if [ "$(cat "$T/$1.rc")" = "$2" ]; then pass "$1: helper-drive exit $2"; else
                fail "$1: helper-drive exit $(cat "$T/$1.rc"), expected $2"
                sed 's/^/    stderr: /' "$T/$1.err"
        fi
}

# The capabilities the man page documents for a helper, lower case, sorted.
man_caps() {
        sed -n "s/^\\.\\\\\" caps $1:[[:space:]]*//p" "$MAN" | tr ' ' '\n' | tr 'A-Z' 'a-z' | sed '/^$/d' | sort |
                tr '\n' ' '
}
# The capabilities /proc showed (CapEff or CapBnd), sorted.
proc_caps() {
        sed -n "s/^status $2Names: //p" "$T/$1.out" | tr ',' '\n' | sed '/^$/d' | sort | tr '\n' ' '
}

# check_status RUN NAME ID EXTRA_FD_TARGET (a fixed string or an empty one)
check_status() {
        run=$1 name=$2 id=$3 extra=$4
        out=$T/$run.out

        has "$out" "ok hello $name pid " "$name: HELLO arrives"
        has "$out" "status Uid: $id $id $id $id" "$name: runs as uid $id"
        has "$out" "status Gid: $id $id $id $id" "$name: runs as gid $id"
        has "$out" "status Groups: " "$name: status read"
        if grep -q '^status Groups: [0-9]' "$out"; then fail "$name: has supplementary groups"; fi
        has "$out" "status NoNewPrivs: 1" "$name: no_new_privs"
        has "$out" "status Seccomp: 2" "$name: seccomp filter"
        has "$out" "status CapInh: 0000000000000000" "$name: no inheritable capabilities"
        has "$out" "status CapAmb: 0000000000000000" "$name: no ambient capabilities"
        want=$(man_caps "$name")
        if ! grep -q "^\\.\\\\\" caps $name:" "$MAN"; then
                fail "$name: no \`caps $name:\` line in containr-helpers.7"
        fi
        for set in CapEff CapBnd; do
                got=$(proc_caps "$run" "$set")
                if [ "$got" = "$want" ]; then pass "$name: $set = documented [${want% }]"; else
                        fail "$name: $set is [${got% }], containr-helpers.7 documents [${want% }]"
                fi
        done
        eff=$(sed -n 's/^status CapEff: //p' "$out")
        prm=$(sed -n 's/^status CapPrm: //p' "$out")
        [ "$eff" = "$prm" ] || fail "$name: CapPrm $prm differs from CapEff $eff"

        # Open fds: exactly the documented set.
        for fd in 0 1 2; do has "$out" "status fd $fd /dev/null" "$name: fd $fd is /dev/null"; done
        for fd in 3 4; do
                if grep -q "^status fd $fd socket:\\[" "$out"; then pass "$name: fd $fd is a socket"; else
                        fail "$name: fd $fd is not a socket"
                fi
        done
        has "$out" "status fd 5 $T/$run.audit" "$name: fd 5 is its audit log"
        n=$(grep -c '^status fd ' "$out")
        want_n=9
        [ -n "$extra" ] && want_n=10
        if [ "$n" = "$want_n" ]; then pass "$name: $n open fds"; else fail "$name: $n open fds, expected $want_n"; fi
        grep '^status fd ' "$out" | while read -r _ _ fd target; do
                case $fd:$target in
                0:/dev/null | 1:/dev/null | 2:/dev/null) ;;
                3:socket:* | 4:socket:*) ;;
                5:*) ;;
                *:anon_inode:\[eventpoll\]) ;;
                *:pipe:*) ;;
                *)
                        if [ -z "$extra" ] || [ "$target" != "$extra" ]; then
                                echo "FAIL: $name: undocumented fd $fd -> $target"
                                echo x >>"$T/fdfail"
                        fi
                        ;;
                esac
        done
        if [ -f "$T/fdfail" ]; then fails=$((fails + 1)); rm -f "$T/fdfail"; else
                pass "$name: every open fd is documented"
        fi
        if [ -n "$extra" ]; then has "$out" " $extra" "$name: holds its documented fd $extra"; fi
        if [ "$(grep -c '^status fd [0-9]* pipe:' "$out")" != 2 ]; then fail "$name: expected libevent's 2 pipe ends"; fi
}

audit_has() { # audit_has RUN STRING DESCRIPTION
        has "$T/$1.audit" "$2" "$3"
}

# --- mountd -------------------------------------------------------------
# A snapshot root as snapd would leave it: overlay2/<id>/{fs,work}.
MROOT=$T/snaps/mroot
mkdir -p "$MROOT/overlay2/1/fs" "$MROOT/overlay2/2/fs" "$MROOT/overlay2/2/work" "$MROOT/overlay2/3" /tmp
chmod 700 "$MROOT"
ln -s /etc "$MROOT/overlay2/3/fs"
drive mountd mountd 64991 --snapshot-root "$MROOT" "$HDIR/containr-mountd" status ping tmpfs tmpfs 0 0700 \
        '!tmpfs' 1048576 010000 '!tmpfs' 68719476737 0755 tmpfs 68719476736 0755 ping \
        mount 1::rw mount :1:ro mount 2:1:rw mount :1,2:ro \
        '!mount' ../x::rw '!mount' :1/../..:ro '!mount' ::ro '!mount' :1:rw '!mount' 3::rw '!mount' 2:3:rw
rc_is mountd 0
check_status mountd mountd 64991 "$MROOT"
has "$T/mountd.out" "ok tmpfs f_type=tmpfs mode=1777" "mountd: returns a detached tmpfs mount fd"
has "$T/mountd.out" "ok tmpfs 0 0700 f_type=tmpfs mode=0700" "mountd: tmpfs mode honoured"
has "$T/mountd.out" "error tmpfs 1048576 010000: EINVAL: " "mountd: mode above 07777 refused"
has "$T/mountd.out" "error tmpfs 68719476737 0755: EINVAL: " "mountd: size above 64 GiB refused"
has "$T/mountd.out" "ok tmpfs 68719476736 0755" "mountd: 64 GiB accepted"
audit_has mountd '"op":"mount_tmpfs","args":{"size_bytes":1048576,"mode":"10000"' "mountd: refusal audited"
n=$(grep -c '"op":"mount_tmpfs".*"decision":"deny","result":"error","errno":22' "$T/mountd.audit")
[ "$n" = 2 ] && pass "mountd: 2 deny records" || fail "mountd: $n deny records, expected 2"
has "$T/mountd.out" "ok mount 1::rw f_type=bind ro=0" "mountd: an active snapshot without parents is a bind"
has "$T/mountd.out" "ok mount :1:ro f_type=bind ro=1" "mountd: a one-parent view is a read-only bind"
has "$T/mountd.out" "ok mount 2:1:rw f_type=overlay ro=0" "mountd: an active snapshot with a parent is an overlay"
has "$T/mountd.out" "ok mount :1,2:ro f_type=overlay ro=1" "mountd: a two-parent view is a read-only overlay"
for bad in ../x::rw :1/../..:ro; do
        has "$T/mountd.out" "error mount $bad: EPERM: " "mountd: mount \`$bad\` refused (not an id)"
done
has "$T/mountd.out" "error mount ::ro: EINVAL: " "mountd: a mount of nothing refused"
has "$T/mountd.out" "error mount :1:rw: EINVAL: " "mountd: a writable mount without an upper refused"
has "$T/mountd.out" "error mount 3::rw: ELOOP: " "mountd: a snapshot fs that is a symlink is not followed"
has "$T/mountd.out" "error mount 2:3:rw: ELOOP: " "mountd: a lower fs that is a symlink is not followed"
audit_has mountd '"op":"mount_snapshot","args":{"upper":"../x","lower":[],"read_only":false},"decision":"deny"' \
        "mountd: refused snapshot mount audited deny"
n=$(wc -l <"$T/mountd.audit")
[ "$n" = 17 ] && pass "mountd: one audit record per request" || fail "mountd: $n audit records for 17 requests"
has "$T/mountd.err" "containr-mountd 0.1.0 starting" "mountd: log records relayed over fd 4"
has "$T/mountd.err" "overlay mode auto: " "mountd: logs its overlay path at start-up"
has "$T/mountd.out" "status mntns own" "mountd: runs in a mount namespace of its own"
audit_has mountd '"lower":["1"],"read_only":false,"method":"fsconfig"' "mountd: auto builds a short overlay by fsconfig"

# Idmapped layers (--userns): a user namespace of root's (as the monitor's
# MakeUserns makes) is taken; one owned by another uid (as the supervisor
# could make itself), is refused.  Without lower layers (a volume) it is
# an idmapped bind of the upper's fs.
drive mountd mountd-idmap 64991 --snapshot-root "$MROOT" "$HDIR/containr-mountd" \
        mount-idmap 2:1:rw:0 mount-idmap :1,2:ro:0 '!mount-idmap' 2:1:rw:64999 mount-idmap 1::rw:0
rc_is mountd-idmap 0
has "$T/mountd-idmap.out" "ok mount-idmap 2:1:rw:0 f_type=overlay ro=0" "mountd: an overlay of idmapped layers"
has "$T/mountd-idmap.out" "ok mount-idmap :1,2:ro:0 f_type=overlay ro=1" "mountd: a read-only view of idmapped layers"
has "$T/mountd-idmap.out" "error mount-idmap 2:1:rw:64999: EPERM: " "mountd: a user namespace not owned by root refused"
# its root, 0:0 on disk, shows as the map's root (0 -> 100000)
if grep -q '^ok mount-idmap 1::rw:0 f_type=bind ro=0 mode=[0-7]* owner=100000:100000$' "$T/mountd-idmap.out"; then
        pass "mountd: an idmapped bind of a volume's fs (its 0:0 root shows as the mapped root)"
else
        fail "mountd: an idmapped bind of a volume's fs: $(grep '1::rw:0' "$T/mountd-idmap.out")"
fi
audit_has mountd-idmap '"op":"mount_snapshot_idmapped","args":{"idmapped":true,"upper":"1","lower":[],"read_only":false,"method":"idmapped-bind"},"decision":"allow"' \
        "mountd: idmapped bind audited"
audit_has mountd-idmap '"op":"mount_snapshot_idmapped","args":{"idmapped":true,"upper":"2","lower":["1"],"read_only":false,"method":"idmapped"},"decision":"allow"' \
        "mountd: idmapped overlay audited"
audit_has mountd-idmap '"op":"mount_snapshot_idmapped","args":{"idmapped":true},"decision":"deny","result":"error","errno":1' \
        "mountd: foreign user namespace audited deny"

# The legacy overlay path, forced as a 6.1 kernel takes it for long lists:
# mount(2) in mountd's private namespace, cloned with open_tree.  The same
# outside view (identity, capabilities, fds: the namespace adds none),
# mountd's and the driver's mountinfo unchanged by each mount (helper-drive
# checks), and an option string longer than a page refused naming the
# layer count.  200 lowers of 25-character ids take about 5 KiB.
long=
i=0
while [ $i -lt 200 ]; do
        id=$(printf 'legacy-long-layer-id-%04d' $i)
        mkdir -p "$MROOT/overlay2/$id/fs"
        long=$long${long:+,}$id
        i=$((i + 1))
done
drive mountd mountd-legacy 64991 --snapshot-root "$MROOT" --overlay-mode legacy "$HDIR/containr-mountd" status \
        mount 2:1:rw mount :1,2:ro mount 1::rw '!mount' ":$long:ro" ping
rc_is mountd-legacy 0
check_status mountd-legacy mountd 64991 "$MROOT"
has "$T/mountd-legacy.err" "overlay mode legacy: every overlay through mount(2)" "mountd legacy: logs its path at start-up"
has "$T/mountd-legacy.out" "status mntns own" "mountd legacy: runs in a mount namespace of its own"
has "$T/mountd-legacy.out" "ok mount 2:1:rw f_type=overlay ro=0" "mountd legacy: an active snapshot with a parent"
has "$T/mountd-legacy.out" "ok mount :1,2:ro f_type=overlay ro=1" "mountd legacy: a read-only two-parent view"
has "$T/mountd-legacy.out" "ok mount 1::rw f_type=bind ro=0" "mountd legacy: binds stay binds"
has "$T/mountd-legacy.out" "E2BIG: 200 lower layers: the overlay's mount options take " \
        "mountd legacy: options over a page refused, naming the layer count"
audit_has mountd-legacy '"lower":["1"],"read_only":false,"method":"legacy"' "mountd legacy: audited as legacy"
audit_has mountd-legacy '"lower":["1","2"],"read_only":true,"method":"legacy"' "mountd legacy: the view too"
# fsconfig: the new mount API only, in the driver's namespace
drive mountd mountd-fsconfig 64991 --snapshot-root "$MROOT" --overlay-mode fsconfig "$HDIR/containr-mountd" status \
        mount 2:1:rw
rc_is mountd-fsconfig 0
has "$T/mountd-fsconfig.out" "status mntns same" "mountd fsconfig: no namespace of its own"
has "$T/mountd-fsconfig.out" "ok mount 2:1:rw f_type=overlay ro=0" "mountd fsconfig: an overlay"
"$HDIR/containr-mountd" --uid 1 --gid 1 --snapshot-root "$MROOT" --overlay-mode lowerdir+ </dev/null >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && pass "mountd: bad --overlay-mode -> exit 2" || fail "mountd: bad --overlay-mode -> exit $rc, expected 2"

# --- netd ---------------------------------------------------------------
drive netd netd 64992 "$HDIR/containr-netd" status netns netns ping
rc_is netd 0
check_status netd netd 64992 "$(readlink /proc/self/ns/net)"
n=$(grep -c '^ok netns f_type=nsfs type=net ino=[0-9]* lo=up$' "$T/netd.out")
[ "$n" = 2 ] && pass "netd: two new netns fds with lo up" || fail "netd: $n good netns replies, expected 2"
audit_has netd '"op":"netns_create","args":{},"decision":"allow","result":"ok"' "netd: netns_create audited"

# --- snapd --------------------------------------------------------------
mkdir -p "$T/snaps/root"
chown 64993:64993 "$T/snaps/root"
chmod 700 "$T/snaps/root"
tmpx_before=no
[ -e /tmp/x ] && tmpx_before=yes
drive snapd snapd 64993 --snapshot-root "$T/snaps/root" "$HDIR/containr-snapd" status \
        mkdir snap1 rmdir snap1 mkdir keep '!mkdir' keep \
        '!mkdir' ../escape '!mkdir' a/b '!mkdir' .. '!mkdir' /tmp/x '!mkdir' '' '!mkdir' . \
        '!rmdir' ../escape '!rmdir' .. '!rmdir' /tmp '!rmdir' nothere ping
rc_is snapd 0
check_status snapd snapd 64993 "$T/snaps/root"
has "$T/snapd.out" "ok mkdir snap1" "snapd: mkdir works"
has "$T/snapd.out" "ok rmdir snap1" "snapd: rmdir works"
if [ -d "$T/snaps/root/keep" ] && [ ! -e "$T/snaps/root/snap1" ]; then pass "snapd: the root holds what was asked"; else
        fail "snapd: snapshot root content wrong: $(ls -a "$T/snaps/root" | tr '\n' ' ')"
fi
perm=$(stat -c '%a %u:%g' "$T/snaps/root/keep" 2>/dev/null)
[ "$perm" = "755 64993:64993" ] && pass "snapd: keep is 0755 64993:64993" || fail "snapd: keep is $perm"
has "$T/snapd.out" "error mkdir keep: EEXIST: " "snapd: a failed op answers errno + message"
for bad in ../escape a/b .. /tmp/x '' .; do
        has "$T/snapd.out" "error mkdir $bad: EPERM: " "snapd: mkdir \`$bad\` refused"
        audit_has snapd "\"op\":\"snap_mkdir\",\"args\":{\"name\":\"$bad\",\"mode\":\"0755\"},\"decision\":\"deny\"" \
                "snapd: mkdir \`$bad\` audited deny"
done
for bad in ../escape .. /tmp; do
        has "$T/snapd.out" "error rmdir $bad: EPERM: " "snapd: rmdir \`$bad\` refused"
        audit_has snapd "\"op\":\"snap_rmdir\",\"args\":{\"name\":\"$bad\"},\"decision\":\"deny\"" \
                "snapd: rmdir \`$bad\` audited deny"
done
has "$T/snapd.out" "error rmdir nothere: ENOENT: " "snapd: rmdir of a missing dir fails"
audit_has snapd '"op":"snap_rmdir","args":{"name":"nothere"},"decision":"allow","result":"error","errno":2' \
        "snapd: system failure audited allow/error"
[ ! -e "$T/snaps/escape" ] && [ ! -e "$T/escape" ] && pass "snapd: nothing escaped the root" ||
        fail "snapd: something was created outside the root"
[ -d /tmp ] || fail "snapd: /tmp is gone"
if [ $tmpx_before = no ] && [ -e /tmp/x ]; then fail "snapd: /tmp/x was created"; fi
n=$(wc -l <"$T/snapd.audit")
[ "$n" = 15 ] && pass "snapd: one audit record per request" || fail "snapd: $n audit records for 15 requests"

# snapd refuses a snapshot root that is not its own.
mkdir -p "$T/snaps/rootowned"
chmod 700 "$T/snaps/rootowned"
drive snapd snapd-notown 64993 --snapshot-root "$T/snaps/rootowned" "$HDIR/containr-snapd" ping
rc_is snapd-notown 1
has "$T/snapd-notown.out" "error hello: channel closed before HELLO, helper exit 1" \
        "snapd: refuses a snapshot root owned by someone else"
has "$T/snapd-notown.err" "is owned by uid 0, not snapd's uid 64993" "snapd: says why"

# --- buildd, crid -------------------------------------------------------
for name in buildd crid; do
        drive $name $name 64994 "$HDIR/containr-$name" status ping ping
        rc_is $name 0
        check_status $name $name 64994 ""
        n=$(grep -c '^ok ping$' "$T/$name.out")
        [ "$n" = 2 ] && pass "$name: answers Ping" || fail "$name: $n pongs, expected 2"
done

# --- every helper: protocol violations, EOF, bad command line -----------
id=64995
for name in mountd netd snapd buildd crid; do
        ropt=
        [ $name = mountd ] && ropt="--snapshot-root $MROOT"
        if [ $name != snapd ]; then # snapd: below, it needs a root of its own
                # shellcheck disable=SC2086 # ropt is empty or two words
                drive $name $name-garbage $id $ropt "$HDIR/containr-$name" ping garbage
                rc_is $name-garbage 0
                has "$T/$name-garbage.out" "ok garbage: exit 3" "$name: malformed frame -> exit 3"
                audit_has $name-garbage '"op":"protocol_violation"' "$name: protocol violation audited"
                # shellcheck disable=SC2086
                drive $name $name-foreign $id $ropt "$HDIR/containr-$name" foreign
                rc_is $name-foreign 0
                has "$T/$name-foreign.out" "ok foreign: exit 3" "$name: foreign request -> exit 3"
                # shellcheck disable=SC2086
                drive $name $name-eof $id $ropt "$HDIR/containr-$name" ping eof
                rc_is $name-eof 0
                has "$T/$name-eof.out" "ok eof: exit 0" "$name: EOF -> exit 0"
        fi
        "$HDIR/containr-$name" --uid 1 --gid 1 --log-level info --bogus x </dev/null >/dev/null 2>&1
        rc=$?
        [ $rc = 2 ] && pass "$name: unknown flag -> exit 2" || fail "$name: unknown flag -> exit $rc, expected 2"
        "$HDIR/containr-$name" --uid 1 --uid 1 --gid 1 </dev/null >/dev/null 2>&1
        rc=$?
        [ $rc = 2 ] && pass "$name: repeated flag -> exit 2" || fail "$name: repeated flag -> exit $rc, expected 2"
done
# snapd, with a root of the uid it runs as
chown -R $id:$id "$T/snaps/root"
drive snapd snapd-garbage $id --snapshot-root "$T/snaps/root" "$HDIR/containr-snapd" ping garbage
rc_is snapd-garbage 0
has "$T/snapd-garbage.out" "ok garbage: exit 3" "snapd: malformed frame -> exit 3"
audit_has snapd-garbage '"op":"protocol_violation"' "snapd: protocol violation audited"
drive snapd snapd-foreign $id --snapshot-root "$T/snaps/root" "$HDIR/containr-snapd" foreign
rc_is snapd-foreign 0
has "$T/snapd-foreign.out" "ok foreign: exit 3" "snapd: foreign request -> exit 3"
drive snapd snapd-eof $id --snapshot-root "$T/snaps/root" "$HDIR/containr-snapd" ping eof
rc_is snapd-eof 0
has "$T/snapd-eof.out" "ok eof: exit 0" "snapd: EOF -> exit 0"

# The man page lists a caps line for exactly the helpers there are.
n=$(grep -c '^\.\\" caps [a-z]*:' "$MAN")
[ "$n" = 5 ] && pass "containr-helpers.7 documents 5 helpers" || fail "containr-helpers.7 has $n caps lines, expected 5"

echo "$fails failure(s)"
[ $fails = 0 ]
