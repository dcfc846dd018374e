#!/bin/sh
# containr build --check / --print-plan through the whole path:
# CLI (context opened as the operator, streamed as a tar) -> containrd ->
# containr-buildd (parse, check, plan) -> report in a sealed memfd -> CLI.
. "$top_srcdir/tests/lib.sh"
cnr_need_root
[ -x "$CONTAINRD" ] || { echo "SKIP: $CONTAINRD not built"; exit 77; }
cnr_start
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
grep -q 'base: image docker.io/library/alpine:3.19 -- external' "$out" || fail "plan: external base image"
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

# 10. buildd still serves after all this.
"$CONTAINR" build --check "$ctx" >/dev/null 2>&1 || true
"$CONTAINR" system check >"$out" 2>&1 || { cat "$out"; fail "system check after builds"; }
pass "buildd keeps serving"
