#!/bin/sh
# containr build --check / --print-plan through the whole path:
# CLI (context opened as the operator, streamed as a tar) -> containrd ->
# containr-buildd (parse, check, plan) -> report in a sealed memfd -> CLI.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/images.sh"
cnr_need_root
[ -x "$CONTAINRD" ] || { echo "SKIP: $CONTAINRD not built"; exit 77; }
cnr_need_busybox
cnr_need_tool python3
cnr_start
# Base images come from the local store: busybox under the names the
# Dockerfiles below use.
bbid=$(cnr_busybox_image bb:1) || fail "import busybox"
for n in alpine:3.19 alpine busybox:1.36; do "$CONTAINR" tag bb:1 "$n" || fail "tag $n"; done
out=$CNR_TMP/out
err=$CNR_TMP/err
ctx=$CNR_TMP/ctx
mkdir -p "$ctx/src" "$ctx/secret"
echo 'int main(void) { return 0; }' >"$ctx/src/main.c"
echo 'a secret' >"$ctx/secret/key"
echo 'notes' >"$ctx/notes.md"
printf 'secret\n*.md\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'DF'
ARG BASE=alpine:3.19
FROM $BASE AS build
WORKDIR /src
COPY src/ ./
RUN cc -o /out/app main.c
FROM scratch AS final
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
DF

# 1. a clean Dockerfile checks clean.
"$CONTAINR" build --check "$ctx" >"$out" 2>"$err" || { cat "$out" "$err"; fail "check of a clean Dockerfile"; }
grep -q '^Dockerfile: 0 errors, 0 warnings; 2 stages, target final$' "$out" || { cat "$out"; fail "check summary"; }
pass "build --check (clean)"

# 2. the plan: stages, order, keys, the external base image said as such.
"$CONTAINR" build --print-plan "$ctx" >"$out" 2>"$err" || { cat "$out" "$err"; fail "print-plan"; }
grep -q '^target: final (stage 1)$' "$out" || fail "plan: target"
grep -q '^  level 0: build$' "$out" || fail "plan: level 0"
grep -q '^  level 1: final$' "$out" || fail "plan: level 1"
grep -q "base: image docker.io/library/alpine:3.19 (id $bbid, " "$out" || { cat "$out"; fail "plan: base image from the store"; }
grep -q 'COPY src/ ./' "$out" || fail "plan: COPY step"
grep -q 'sources sha256:[0-9a-f]\{64\}' "$out" || fail "plan: COPY sources digest"
grep -q '"Entrypoint"' "$out" || fail "plan: image config"
pass "build --print-plan"

# 3. JSON for tools; the ignored file never reached buildd.
"$CONTAINR" build --print-plan --format json "$ctx" >"$out" 2>"$err" || fail "print-plan json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["errors"]==0; assert d["target"]=="final"; assert len(d["stages"])==2; assert d["stages"][0]["image"]=="docker.io/library/alpine:3.19"; assert d["context"]["entries"]==4, d["context"]' "$out" ||
	{ cat "$out"; fail "print-plan json content"; }
pass "build --print-plan --format json (and .dockerignore honoured: 4 entries sent)"

# 4. a changed file changes the key of the COPY that reads it, not the base.
k1=$("$CONTAINR" build --print-plan "$ctx" | grep -A1 'COPY src/ ./' | tail -1)
echo 'int main(void) { return 1; }' >"$ctx/src/main.c"
k2=$("$CONTAINR" build --print-plan "$ctx" | grep -A1 'COPY src/ ./' | tail -1)
[ -n "$k1" ] && [ "$k1" != "$k2" ] || fail "a changed source file kept the COPY key"
touch -d '2001-01-01' "$ctx/src/main.c"
k3=$("$CONTAINR" build --print-plan "$ctx" | grep -A1 'COPY src/ ./' | tail -1)
[ "$k2" = "$k3" ] || fail "mtime changed the COPY key"
pass "cache keys follow content, not mtime"

# 5. errors: file:line, did you mean, exit status 1.
printf 'FROM alpine\nCOPPY a b\n' >"$ctx/Dockerfile.bad"
if "$CONTAINR" build --check -f "$ctx/Dockerfile.bad" "$ctx" >"$out" 2>"$err"; then fail "bad Dockerfile exited 0"; fi
grep -q "Dockerfile.bad:2: error: unknown instruction: COPPY (did you mean COPY?)" "$out" ||
	{ cat "$out" "$err"; fail "error message with file:line"; }
pass "build --check: errors exit 1 with file:line"

# 6. warnings: check rules by name, exit 0; JSON diagnostics.
printf 'FROM alpine as base\nCMD echo hi\nMAINTAINER me\n' >"$ctx/Dockerfile.warn"
"$CONTAINR" build --check -f "$ctx/Dockerfile.warn" --format json "$ctx" >"$out" 2>"$err" || fail "warnings exit non-zero"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=sorted(x["rule"] for x in d["diagnostics"]); assert r==["FromAsCasing","JSONArgsRecommended","MaintainerDeprecated"], r; assert all(x["line"]>0 for x in d["diagnostics"])' "$out" ||
	{ cat "$out"; fail "warnings json"; }
pass "build --check --format json: check rules"

# 7. --target and --build-arg.
"$CONTAINR" build --print-plan --target build --build-arg BASE=busybox:1.36 "$ctx" >"$out" 2>"$err" || fail "target"
grep -q '^target: build (stage 0)$' "$out" || fail "target: not build"
grep -q 'docker.io/library/busybox:1.36' "$out" || fail "build-arg did not reach FROM"
grep -q 'final.*not needed for the target' "$out" || fail "target: final not pruned"
if "$CONTAINR" build --check --target fnial "$ctx" >"$out" 2>"$err"; then fail "unknown target exited 0"; fi
grep -q 'target stage `fnial` could not be found (did you mean `final`?)' "$out" || { cat "$out"; fail "unknown target"; }
pass "build --target, --build-arg"

# 8. without --check/--print-plan: no pretending.
if "$CONTAINR" build "$ctx" >"$out" 2>"$err"; then fail "plain build exited 0"; fi
grep -q 'image execution is not available yet' "$err" || fail "plain build message"
pass "build without --check says execution is not available"

# 9. a missing Dockerfile, a missing context: the CLI says so.
if "$CONTAINR" build --check "$CNR_TMP/nope" >"$out" 2>"$err"; then fail "missing context exited 0"; fi
grep -q 'build context' "$err" || fail "missing context message"
pass "build errors before sending"

# 10. base images from the local store (run just below, before case 11).
run_base_image_cases() {
	W=$CNR_TMP/base
	mkdir -p "$W/ctx"
	arch=$(uname -m)
	case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
	other=arm64
	[ "$arch" = arm64 ] && other=amd64
	# An image with a config (Env, WorkingDir, User, Cmd, Labels, ExposedPorts,
	# StopSignal), history and ONBUILD triggers; no layers: a docker-archive.
	python3 - "$W" "$arch" "$other" <<'PY' || fail "make the archives"
import hashlib, io, json, sys, tarfile
w, arch, other = sys.argv[1:4]
def add(t, name, data):
    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
def archive(path, tag, arch, config, onbuild):
    c = dict(config)
    if onbuild: c["OnBuild"] = onbuild
    doc = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": c,
           "history": [{"created_by": "base step one", "empty_layer": True},
                       {"created_by": "base step two", "empty_layer": True}]}
    b = json.dumps(doc, sort_keys=True).encode()
    name = "blobs/sha256/" + hashlib.sha256(b).hexdigest()
    with tarfile.open(path, "w") as t:
        add(t, name, b)
        add(t, "manifest.json", json.dumps([{"Config": name, "RepoTags": [tag], "Layers": []}]).encode())
cfg = {"Env": ["PATH=/opt/bin:/bin", "GREETING=hello"], "WorkingDir": "/srv", "User": "nobody",
       "Cmd": ["/bin/sh", "-c", "serve"], "Labels": {"base": "yes"}, "ExposedPorts": {"8080/tcp": {}},
       "StopSignal": "SIGINT"}
archive(w + "/onb.tar", "onb:1", arch, cfg, ["RUN echo triggered in $GREETING", "COPY app.txt /app/",
                                              "LABEL from=trigger"])
archive(w + "/plain.tar", "plain:1", arch, dict(cfg, Labels={"base": "other"}), [])
archive(w + "/foreign.tar", "foreign:1", other, {}, [])
archive(w + "/bad.tar", "badtrig:1", arch, {}, ["FROM scratch"])
PY
	for a in onb plain foreign bad; do "$CONTAINR" load -q -i "$W/$a.tar" >/dev/null || fail "load $a"; done
	echo app >"$W/ctx/app.txt"
	echo secret >"$W/ctx/hidden.txt"
	printf 'hidden.txt\n' >"$W/ctx/.dockerignore"

	# ONBUILD triggers of the base run first, at the FROM line, in order;
	# the child inherits Env, WorkingDir, User, Cmd, Labels, ExposedPorts,
	# StopSignal and the history; the triggers are not inherited.
	printf '# a comment\nFROM onb:1 AS child\nRUN echo own\n' >"$W/ctx/Dockerfile"
	"$CONTAINR" build --print-plan "$W/ctx" >"$out" 2>"$err" || { cat "$out" "$err"; fail "plan on onb:1"; }
	grep -q '^   1\. line 2   \[ONBUILD from image `docker.io/library/onb:1`, trigger 1\] RUN echo triggered in \$GREETING$' "$out" ||
		{ cat "$out"; fail "trigger 1 at the FROM line"; }
	grep -q '^   2\. line 2   \[ONBUILD from image `docker.io/library/onb:1`, trigger 2\] COPY app.txt /app/$' "$out" ||
		fail "trigger 2"
	grep -q '^   3\. line 2   \[ONBUILD from image `docker.io/library/onb:1`, trigger 3\] LABEL from=trigger$' "$out" ||
		fail "trigger 3"
	grep -q '^   4\. line 3   RUN echo own$' "$out" || fail "own step after the triggers"
	"$CONTAINR" build --print-plan --format json "$W/ctx" >"$out" 2>"$err" || fail "plan json on onb:1"
	python3 - "$out" <<'PY' || { cat "$out"; fail "inherited config"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["errors"] == 0, d["diagnostics"]
st = d["stages"][0]
c = st["config"]
assert c["Env"] == ["PATH=/opt/bin:/bin", "GREETING=hello"], c
assert c["WorkingDir"] == "/srv" and c["User"] == "nobody" and c["StopSignal"] == "SIGINT", c
assert c["Cmd"] == ["/bin/sh", "-c", "serve"], c
assert c["Labels"] == {"base": "yes", "from": "trigger"}, c
assert list(c["ExposedPorts"]) == ["8080/tcp"], c
assert "OnBuild" not in c, c
h = [x["created_by"] for x in st["history"]]
assert h[:2] == ["base step one", "base step two"], h
assert st["steps"][0]["onbuild_trigger"] and not st["steps"][3]["onbuild_trigger"], st["steps"]
assert st["image_id"].startswith("sha256:") and not any(s["provisional"] for s in st["steps"]), st
PY
	pass "ONBUILD triggers of the base image at the FROM line; config and history inherited"

	# ENTRYPOINT in the child resets the inherited Cmd.
	printf 'FROM plain:1\nENTRYPOINT ["/bin/app"]\n' >"$W/ctx/Dockerfile"
	"$CONTAINR" build --print-plan --format json "$W/ctx" >"$out" 2>"$err" || fail "plan on plain:1"
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["stages"][0]["config"]; assert c["Cmd"] is None and c["Entrypoint"]==["/bin/app"] and c["User"]=="nobody", c' "$out" ||
		{ cat "$out"; fail "ENTRYPOINT resets the inherited Cmd"; }
	pass "Cmd/Entrypoint interplay with the base config"

	# Cache keys follow the image, not the name: re-tagging the name to a
	# different image changes the FROM key; to the same image it does not.
	printf 'FROM base:x\nRUN echo hi\n' >"$W/ctx/Dockerfile"
	"$CONTAINR" tag plain:1 base:x || fail "tag base:x"
	k1=$("$CONTAINR" build --print-plan "$W/ctx" | grep 'base key')
	"$CONTAINR" tag plain:1 base:y || fail "tag base:y"
	k2=$("$CONTAINR" build --print-plan "$W/ctx" | grep 'base key')
	"$CONTAINR" tag onb:1 base:x || fail "re-tag base:x"
	printf 'FROM base:x\nRUN echo hi\n' >"$W/ctx/Dockerfile"
	k3=$("$CONTAINR" build --print-plan "$W/ctx" | grep 'base key')
	printf 'FROM base:y\nRUN echo hi\n' >"$W/ctx/Dockerfile"
	k4=$("$CONTAINR" build --print-plan "$W/ctx" | grep 'base key')
	[ -n "$k1" ] && [ "$k1" = "$k2" ] || fail "the base key changed without a change of image ($k1 / $k2)"
	[ "$k1" != "$k3" ] || fail "re-tagging to another image kept the base key"
	[ "$k1" = "$k4" ] || fail "another name for the same image changed the base key"
	pass "cache keys of FROM follow the image's config digest"

	# A base image not in the store: a clear error at the FROM line.
	printf 'FROM nothere:1\nRUN true\n' >"$W/ctx/Dockerfile"
	if "$CONTAINR" build --check "$W/ctx" >"$out" 2>"$err"; then fail "a missing base image checked clean"; fi
	grep -q '^Dockerfile:1: error: base image `docker.io/library/nothere:1` is not in the local store: pull it first' "$out" ||
		{ cat "$out"; fail "missing base image message"; }
	pass "a base image not in the local store is an error"

	# COPY --from=<image>: keyed by that image's id; a missing one is an error.
	printf 'FROM scratch\nCOPY --from=plain:1 /etc/x /x\n' >"$W/ctx/Dockerfile"
	"$CONTAINR" build --print-plan --format json "$W/ctx" >"$out" 2>"$err" || { cat "$out"; fail "COPY --from=image"; }
	ka=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"][0]["steps"][0]; assert not s["provisional"], s; print(s["cache_key"])' "$out") ||
		{ cat "$out"; fail "COPY --from=image not keyed"; }
	"$CONTAINR" tag onb:1 plain:1 || fail "re-tag plain:1"
	"$CONTAINR" build --print-plan --format json "$W/ctx" >"$out" 2>"$err" || fail "COPY --from=image (2)"
	kb=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stages"][0]["steps"][0]["cache_key"])' "$out")
	[ "$ka" != "$kb" ] || fail "COPY --from=<image> key did not follow the image"
	printf 'FROM scratch\nCOPY --from=gone:2 /x /x\n' >"$W/ctx/Dockerfile"
	if "$CONTAINR" build --check "$W/ctx" >"$out" 2>"$err"; then fail "COPY --from a missing image checked clean"; fi
	grep -q '^Dockerfile:2: error: image `docker.io/library/gone:2` (COPY --from) is not in the local store' "$out" ||
		{ cat "$out"; fail "COPY --from missing image message"; }
	pass "COPY --from=<image> keyed by the image; a missing one is an error"

	# Check rules that need the store or the ignore file.
	printf 'FROM foreign:1\nCOPY hidden.txt /h\n' >"$W/ctx/Dockerfile"
	"$CONTAINR" build --check --format json "$W/ctx" >"$out" 2>"$err" || { cat "$out"; fail "warnings exited non-zero"; }
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=sorted((x["rule"],x["line"]) for x in d["diagnostics"]); assert r==[("CopyIgnoredFile",2),("InvalidBaseImagePlatform",1)], r' "$out" ||
		{ cat "$out"; fail "InvalidBaseImagePlatform / CopyIgnoredFile"; }
	printf 'ARG TAG\nFROM bb:${TAG}\n' >"$W/ctx/Dockerfile"
	"$CONTAINR" build --check --build-arg TAG=1 "$W/ctx" >"$out" 2>"$err" || { cat "$out"; fail "InvalidDefaultArgInFrom exit"; }
	grep -q '^Dockerfile:2: warning: InvalidDefaultArgInFrom: ' "$out" || { cat "$out"; fail "InvalidDefaultArgInFrom"; }
	pass "check rules InvalidBaseImagePlatform, CopyIgnoredFile, InvalidDefaultArgInFrom"

	# A trigger that may not be one, named as coming from the image.
	printf 'FROM badtrig:1\n' >"$W/ctx/Dockerfile"
	if "$CONTAINR" build --check "$W/ctx" >"$out" 2>"$err"; then fail "a FROM trigger checked clean"; fi
	grep -q '^Dockerfile:1: error: ONBUILD from image `docker.io/library/badtrig:1`, trigger 1: FROM isn.t allowed as an ONBUILD trigger' "$out" ||
		{ cat "$out"; fail "forbidden trigger message"; }
	pass "forbidden ONBUILD triggers of a base image"
}

# 11. buildd still serves after all this.
"$CONTAINR" build --check "$ctx" >/dev/null 2>&1 || true
run_base_image_cases
"$CONTAINR" system check >"$out" 2>&1 || { cat "$out"; fail "system check after builds"; }
pass "buildd keeps serving"
