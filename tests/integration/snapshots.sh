#!/bin/sh
# Snapshots through the daemon: an imported image is unpacked by snapd into
# overlay2/<id>/fs under the chain id; a crash leaves orphan directories,
# lost directories and interrupted unpacks that the next start-up repairs
# (THREATS.md 38: the supervisor is killed and restarted by the monitor);
# `image prune` removes the snapshots no image needs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/images.sh"
cnr_need_root
cnr_need_busybox
cnr_need_tool python3

cnr_start
S=$CNR_ROOT/snapshots/overlay2
audit=$CNR_LOG/containrd.audit.jsonl
n_audit() { grep -c "\"op\":\"$1\".*\"result\":\"ok\"" "$audit" 2>/dev/null || true; }
snapdirs() { ls "$S" | wc -l; }

# ---- import -> unpack ----
id=$(cnr_busybox_image bb:1) || fail "import"
unpacked() { [ "$(n_audit image_unpack)" -ge 1 ]; }
cnr_wait_for 30 unpacked || { cnr_dump_logs; fail "no image_unpack after import"; }
diff=$("$CONTAINR" image inspect bb:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0]["DiffID"])')
grep '"op":"image_unpack"' "$audit" | grep -q "\"snapshot\":\"$diff\"" ||
	fail "the single layer's snapshot is not named by its chain id (= diff_id $diff)"
[ "$(snapdirs)" = 1 ] || fail "expected one snapshot directory, found: $(ls "$S" | tr '\n' ' ')"
d=$(ls "$S")
[ -x "$S/$d/fs/bin/busybox" ] || fail "the snapshot does not hold bin/busybox"
[ "$(stat -c '%u:%g %a' "$S/$d/fs")" = "0:0 755" ] || fail "fs root is $(stat -c '%u:%g %a' "$S/$d/fs")"
grep -q '"op":"snap_apply".*"decision":"allow","result":"ok"' "$CNR_LOG/snapd.audit.jsonl" || fail "snapd audited no apply"
# A second import of the same rootfs skips the unpack work.
applies=$(grep -c '"op":"snap_apply"' "$CNR_LOG/snapd.audit.jsonl")
"$CONTAINR" tag bb:1 bb:2 || fail "tag"
pass "import unpacks into a chain-id snapshot"

# ---- crash: orphan and lost directories, an interrupted unpack ----
mkdir -p "$S/9001/fs/etc" "$S/rm-9002/fs" "$S/tmp-9003/fs"
echo x >"$S/9001/fs/etc/x"
chown -R "$(cnr_helper_uid snapd)" "$S/9001" "$S/rm-9002" "$S/tmp-9003"
before=$(n_audit snapshot_reconcile)
sup=$(cnr_pid_of supervisor) || fail "no supervisor"
kill -KILL "$sup"
again() { [ "$(n_audit snapshot_reconcile)" -gt "$before" ]; }
cnr_wait_for 30 again || { cnr_dump_logs; fail "no reconciliation after the supervisor restarted"; }
gone() { [ ! -e "$S/9001" ] && [ ! -e "$S/rm-9002" ] && [ ! -e "$S/tmp-9003" ]; }
cnr_wait_for 10 gone || fail "orphans left: $(ls "$S" | tr '\n' ' ')"
tail -n 20 "$audit" | grep '"op":"snapshot_reconcile"' | tail -1 | grep -q '"orphan_dirs":3' ||
	fail "reconcile did not count 3 orphans: $(grep '"op":"snapshot_reconcile"' "$audit" | tail -1)"
[ -x "$S/$d/fs/bin/busybox" ] || fail "the image's snapshot was swept"
[ "$(grep -c '"op":"snap_apply"' "$CNR_LOG/snapd.audit.jsonl")" = "$applies" ] || fail "a re-unpack happened"
pass "start-up reconciliation sweeps orphans and keeps live snapshots (THREATS 38)"

# ---- prune removes what no image needs ----
"$CONTAINR" rmi bb:1 bb:2 >/dev/null || fail "rmi"
"$CONTAINR" image prune -a >"$CNR_TMP/prune" || fail "image prune"
grep -qi "snapshot" "$CNR_TMP/prune" || echo "note: prune output does not list snapshots: $(cat "$CNR_TMP/prune")"
empty() { [ "$(snapdirs)" = 0 ]; }
cnr_wait_for 10 empty || fail "snapshots left after prune: $(ls "$S" | tr '\n' ' ')"
pass "image prune removes unreferenced snapshots"
echo "snapshots.sh: all passed"
