#!/bin/sh
# Images without a registry: import, images, tag, inspect, rmi, save, load,
# prune; interop with skopeo's oci-archive, oci and docker-archive
# transports; hostile archives (THREATS.md 24-26, 28).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/images.sh"
cnr_need_root
cnr_need_busybox
cnr_need_tool skopeo python3

cnr_start
W=$CNR_TMP/work
mkdir -p "$W"
blobs() { find "$CNR_ROOT/content/blobs" -type f | wc -l; }
nimages() { "$CONTAINR" images -q | wc -l; }

# ---- import, images, tag, inspect ----
id=$(cnr_busybox_image bb:1) || fail "import"
case $id in sha256:????????????????????????????????????????????????????????????????) ;; *) fail "import printed `$id`" ;; esac
"$CONTAINR" images | grep -q "^bb  *1  *${id#sha256:}" 2>/dev/null ||
	"$CONTAINR" images | grep -q "^bb  *1  *$(echo "${id#sha256:}" | cut -c1-12)" || fail "images lists bb:1"
[ "$("$CONTAINR" images -q)" = "$(echo "${id#sha256:}" | cut -c1-12)" ] || fail "images -q"
"$CONTAINR" images --format json | python3 -c '
import json,sys; d=json.load(sys.stdin); assert d[0]["Names"]==["docker.io/library/bb:1"], d' || fail "images --format json"
"$CONTAINR" tag bb:1 localhost:5000/bb/x:2 || fail "tag"
"$CONTAINR" tag bb:1 'Bad/Name' 2>"$W/err" && fail "tag accepted an uppercase repository"
grep -q "must be lowercase" "$W/err" || fail "tag error names the cause: $(cat "$W/err")"
"$CONTAINR" image inspect bb:1 >"$W/inspect.json" || fail "image inspect"
python3 - "$W/inspect.json" "$id" <<'PY' || fail "inspect content"
import json, sys
d = json.load(open(sys.argv[1]))[0]
assert d["Id"] == sys.argv[2]
assert sorted(d["Names"]) == ["docker.io/library/bb:1", "localhost:5000/bb/x:2"], d["Names"]
assert d["Config"]["rootfs"]["diff_ids"] == [l["DiffID"] for l in d["Layers"]]
assert d["Manifest"]["layers"][0]["digest"] == d["Layers"][0]["Digest"]
PY
"$CONTAINR" image inspect nosuch:1 >/dev/null 2>"$W/err" && fail "inspect of a missing image succeeded"
grep -q "not found" "$W/err" || fail "inspect error: $(cat "$W/err")"

# ---- save, read by skopeo ----
"$CONTAINR" save --format oci-archive -o "$W/bb.oci.tar" bb:1 || fail "save oci-archive"
skopeo inspect "oci-archive:$W/bb.oci.tar" >"$W/sk.json" || fail "skopeo inspect oci-archive"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["Os"]=="linux" and len(d["Layers"])==1' "$W/sk.json" ||
	fail "skopeo's view of the oci-archive"
skopeo copy -q "oci-archive:$W/bb.oci.tar" "oci:$W/layout:bb" || fail "skopeo copy oci-archive -> oci"
"$CONTAINR" save -o "$W/bb.docker.tar" bb:1 || fail "save docker-archive"
skopeo inspect "docker-archive:$W/bb.docker.tar" >/dev/null || fail "skopeo inspect docker-archive"
# To stdout through a pipe.
"$CONTAINR" save bb:1 | cat >"$W/bb.pipe.tar" || fail "save to a pipe"
tar tf "$W/bb.pipe.tar" | grep -q '^manifest.json$' || fail "save to a pipe: no manifest.json"
"$CONTAINR" save -o "$W/none.tar" nosuch:1 2>/dev/null && fail "save of a missing image succeeded"
[ -e "$W/none.tar" ] && fail "a failed save left its output file"

# ---- round trips keep the id ----
"$CONTAINR" rmi -f bb:1 >/dev/null || fail "rmi -f"
[ "$(nimages)" = 0 ] || fail "rmi -f left images"
"$CONTAINR" load -i "$W/bb.docker.tar" | grep -q "Loaded image: bb:1" || fail "load docker-archive"
[ "$("$CONTAINR" images -q --no-trunc)" = "${id#sha256:}" ] && : 
"$CONTAINR" image inspect bb:1 | grep -q "\"Id\": \"$id\"" || fail "docker-archive round trip changed the id"
"$CONTAINR" rmi bb:1 >/dev/null || fail "rmi"
"$CONTAINR" load <"$W/bb.oci.tar" | grep -q "Loaded image: bb:1" || fail "load oci-archive from stdin"
"$CONTAINR" image inspect bb:1 | grep -q "\"Id\": \"$id\"" || fail "oci-archive round trip changed the id"
cat "$W/bb.docker.tar" | "$CONTAINR" load -q || fail "load from a pipe"

# ---- archives skopeo wrote ----
skopeo copy -q "oci:$W/layout:bb" "docker-archive:$W/sk.docker.tar:sk/docker:1" || fail "skopeo copy -> docker-archive"
"$CONTAINR" load -i "$W/sk.docker.tar" | grep -q "Loaded image: sk/docker:1" || fail "load skopeo's docker-archive"
"$CONTAINR" image inspect sk/docker:1 | grep -q "\"Id\": \"$id\"" || fail "skopeo docker-archive: id changed"
skopeo copy -q "oci:$W/layout:bb" "oci-archive:$W/sk.oci.tar:localhost/sk/oci:2" || fail "skopeo copy -> oci-archive"
"$CONTAINR" load -i "$W/sk.oci.tar" | grep -q "Loaded image: localhost/sk/oci:2" || fail "load skopeo's oci-archive"

# ---- hostile archives: clear error, nothing recorded, no blob added ----
before_blobs=$(blobs)
before_images=$(nimages)
python3 - "$W" <<'PY'
import hashlib, io, json, sys, tarfile
w = sys.argv[1]
def add(t, name, data, **kw):
    i = tarfile.TarInfo(name); i.size = len(data)
    for k, v in kw.items(): setattr(i, k, v)
    t.addfile(i, io.BytesIO(data))
def cfg(extra=None):
    c = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}
    if extra: c["config"].update(extra)
    return json.dumps(c).encode()
def docker(path, files, manifest=None):
    with tarfile.open(path, "w") as t:
        for n, d in files: add(t, n, d)
        if manifest is not None: add(t, "manifest.json", manifest)
# path traversal
with tarfile.open(w + "/evil-dotdot.tar", "w") as t:
    add(t, "../../etc/evil", b"x")
    add(t, "manifest.json", b"[]")
# absolute symlink
with tarfile.open(w + "/evil-symlink.tar", "w") as t:
    i = tarfile.TarInfo("blobs"); i.type = tarfile.SYMTYPE; i.linkname = "/etc"; t.addfile(i)
    add(t, "manifest.json", b"[]")
# a blob whose bytes do not match its name
c = cfg()
bad = "blobs/sha256/" + hashlib.sha256(b"something else").hexdigest()
docker(w + "/evil-digest.tar", [(bad, c)], json.dumps([{"Config": bad, "RepoTags": ["evil:1"], "Layers": []}]).encode())
# a config that is fine, plus a second image whose config is missing: all or nothing
good = "blobs/sha256/" + hashlib.sha256(c).hexdigest()
docker(w + "/evil-partial.tar", [(good, c)], json.dumps([
    {"Config": good, "RepoTags": ["partial:1"], "Layers": []},
    {"Config": "blobs/sha256/" + "0" * 64, "RepoTags": ["partial:2"], "Layers": []}]).encode())
# manifest.json over the cap
docker(w + "/evil-big.tar", [], b"[" + b" " * (4 << 20) + b"]")
# an OCI index with both manifests and layers
idx = json.dumps({"schemaVersion": 2, "manifests": [], "layers": []}).encode()
with tarfile.open(w + "/evil-both.tar", "w") as t:
    add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(t, "index.json", idx)
# upper-case digest in a blob name
docker(w + "/evil-upper.tar", [("blobs/sha256/" + "A" * 64, c)], b"[]")
# THREATS 28: VOLUME ../../etc kept as data, reserved label dropped
c28 = cfg({"Volumes": {"../../etc": {}}, "Labels": {"io.containr.privileged": "true", "ok": "1"}})
p28 = "blobs/sha256/" + hashlib.sha256(c28).hexdigest()
docker(w + "/labels.tar", [(p28, c28)], json.dumps([{"Config": p28, "RepoTags": ["labels:1"], "Layers": []}]).encode())
PY
for f in dotdot symlink digest partial big both upper; do
	if "$CONTAINR" load -i "$W/evil-$f.tar" 2>"$W/err"; then fail "hostile archive $f was loaded"; fi
	echo "evil-$f: $(cat "$W/err")"
done
grep -q "" "$W/err"
"$CONTAINR" load -i "$W/evil-dotdot.tar" 2>&1 | grep -q "hostile archive: entry \`../../etc/evil\` has a \`..\`" || fail "dotdot error"
"$CONTAINR" load -i "$W/evil-symlink.tar" 2>&1 | grep -q "absolute path" || fail "symlink error"
"$CONTAINR" load -i "$W/evil-digest.tar" 2>&1 | grep -q "digest" || fail "digest error"
"$CONTAINR" load -i "$W/evil-big.tar" 2>&1 | grep -q "limit" || fail "size cap error"
"$CONTAINR" load -i "$W/evil-both.tar" 2>&1 | grep -q "both \`layers\` and \`manifests\`" || fail "layers+manifests error"
"$CONTAINR" load -i "$W/evil-upper.tar" 2>&1 | grep -q "lowercase hex" || fail "uppercase digest error"
[ "$(nimages)" = "$before_images" ] || fail "a failed load left an image record"
[ "$(blobs)" = "$before_blobs" ] || fail "a failed load left blobs ($(blobs) vs $before_blobs)"
[ -e /etc/evil ] && fail "a hostile archive wrote /etc/evil"
"$CONTAINR" image inspect partial:1 >/dev/null 2>&1 && fail "half of a failed load was recorded"

"$CONTAINR" load -i "$W/labels.tar" >"$W/out" 2>"$W/err" || fail "load labels.tar: $(cat "$W/err")"
grep -q "reserved namespace" "$W/err" || fail "no warning for a reserved label: $(cat "$W/err")"
"$CONTAINR" image inspect labels:1 >"$W/labels.json" || fail "inspect labels:1"
python3 - "$W/labels.json" <<'PY' || fail "reserved label kept or volume changed"
import json, sys
d = json.load(open(sys.argv[1]))[0]["Config"]["config"]
assert "io.containr.privileged" not in d["Labels"] and d["Labels"]["ok"] == "1", d
assert list(d["Volumes"]) == ["../../etc"], d
PY
[ -e "$CNR_ROOT/etc" ] && fail "a VOLUME path was created"

# ---- rmi rules, prune ----
"$CONTAINR" tag bb:1 bb:2
"$CONTAINR" rmi "$(echo "${id#sha256:}" | cut -c1-12)" 2>"$W/err" && fail "rmi of an id with several names without -f"
grep -q "names" "$W/err" || fail "rmi error: $(cat "$W/err")"
"$CONTAINR" rmi bb:2 | grep -q "Untagged: bb:2" || fail "rmi of one name"
"$CONTAINR" image inspect bb:1 >/dev/null || fail "rmi of one name removed the image"
for i in $("$CONTAINR" images -q); do "$CONTAINR" rmi -f "$i" >/dev/null 2>&1; done
[ "$(nimages)" = 0 ] || fail "images left after rmi -f of all"
"$CONTAINR" image prune -a >"$W/prune" || fail "image prune"
grep -q "Total reclaimed space" "$W/prune" || fail "prune output: $(cat "$W/prune")"
[ "$(blobs)" = 0 ] || fail "blobs left after prune: $(blobs)"
"$CONTAINR" system prune | grep -q "Total reclaimed space: 0B" || fail "system prune on an empty store"
# The supervisor survived all of it.
[ -n "$(cnr_pid_of supervisor)" ] || fail "the supervisor died"
if grep -q "SIGSYS\|signal 31" "$CNR_LOG"/*.log 2>/dev/null; then fail "seccomp killed something"; fi
echo "ok"
