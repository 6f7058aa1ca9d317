#!/usr/bin/env bash
# Builds the policy bundle the gateway loads: policies/build/policy.wasm and policies/build/data.json
# (both committed, so `npm start` needs no opa), after the Rego passes fmt, regal lint, check --strict
# against the wasm-safe capabilities, and its tests with at least 90 % coverage.
#
#   scripts/policy-build.sh           regenerate policies/capabilities.json, lint, test, build
#   scripts/policy-build.sh --check   same checks, build into a temp dir, and fail if the committed
#                                     capabilities or bundle differ from a fresh build (run by npm test)
#
# The bundle is signed as `opa build --signing-key` signs it (`opa sign`: .signatures.json, a JWS
# over the hash of every file), with --signing-key <private key PEM> (or ALA_POLICY_SIGNING_KEY)
# and --signing-alg (default RS256). Without one, the committed DEMO key signs it: a gateway with
# configured principals refuses that key, so production bundles are always signed with your own.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mode=build
signing_key=${ALA_POLICY_SIGNING_KEY:-}
signing_alg=${ALA_POLICY_SIGNING_ALG:-RS256}
usage="usage: $0 [--check] [--signing-key <private-key.pem>] [--signing-alg RS256|ES256|…]"
while [ $# -gt 0 ]; do
  case "$1" in
    --check) mode=check ;;
    --signing-key) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; signing_key=$2; shift ;;
    --signing-alg) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; signing_alg=$2; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
DEMO_SIGNING_KEY=policies/keys/demo-signing-key.pem

COVERAGE_THRESHOLD=90
ENTRYPOINT=approvals/decision
opa=.tools/bin/opa
regal=.tools/bin/regal
caps=policies/capabilities.json
committed=policies/build
# Deliberately broken decisions the evaluator's unit tests load (they must run without opa).
fixture=test/unit/policy/fixtures/misbehaving

log() { printf '[policy] %s\n' "$*" >&2; }
fail() { printf '[policy] error: %s\n' "$*" >&2; exit 1; }

bash scripts/tools.sh opa regal
[ -x node_modules/.bin/tsx ] || fail "node_modules is missing; run npm ci first."

work=$(mktemp -d "${TMPDIR:-/tmp}/policy-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Rego sources are listed file by file: handing opa the whole policies/ directory would also load
# capabilities.json, build/data.json and data/*.json as data under the wrong paths. policies/data
# is passed as its own root, which mounts its JSON files at the top of `data`.
mapfile -t rego < <(find policies -name '*.rego' -not -path 'policies/build/*' | LC_ALL=C sort)
[ "${#rego[@]}" -gt 0 ] || fail "no .rego files under policies/"
sources=()
for f in "${rego[@]}"; do
  case "$f" in *_test.rego) ;; *) sources+=("$f") ;; esac
done

# Canonical JSON of a file, so comparisons ignore formatting (biome reflows committed JSON).
canonical() {
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const sort = (v) => Array.isArray(v) ? v.map(sort) : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
    process.stdout.write(JSON.stringify(sort(JSON.parse(readFileSync(process.argv[1], "utf8")))));
  ' "$1"
}

log "capabilities: builtins the wasm target compiles natively or the JS SDK implements"
if [ "$mode" = build ]; then
  node_modules/.bin/tsx scripts/policy-caps.ts --opa "$opa" --out "$caps"
  node_modules/.bin/biome format --write "$caps" >/dev/null 2>&1 || fail "biome could not format $caps"
else
  [ -f "$caps" ] || fail "$caps is missing; run 'npm run policy:build' and commit it."
  node_modules/.bin/tsx scripts/policy-caps.ts --opa "$opa" --out "$work/capabilities.json"
  if [ "$(canonical "$caps")" != "$(canonical "$work/capabilities.json")" ]; then
    fail "$caps is stale for this opa / @open-policy-agent/opa-wasm; run 'npm run policy:build' and commit it."
  fi
fi

log "opa fmt"
if ! "$opa" fmt --list --fail policies/ "$fixture.rego"; then
  fail "the files above are not formatted; run '$opa fmt -w policies/ $fixture.rego'."
fi

log "regal lint (rules and their reasons: .regal/config.yaml)"
if ! "$regal" lint --config-file .regal/config.yaml policies/; then
  fail "regal found the problems above; fix them, or disable the rule with its reason in .regal/config.yaml."
fi

log "opa check --strict --capabilities $caps"
"$opa" check --strict --capabilities "$caps" "${rego[@]}"
"$opa" check --strict --capabilities "$caps" "$fixture.rego"

log "opa test"
"$opa" test policies/data "${rego[@]}"

log "opa test --coverage (threshold ${COVERAGE_THRESHOLD}% of policy lines, tests excluded)"
"$opa" test --coverage --format json policies/data "${rego[@]}" >"$work/coverage.json"
node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const [file, threshold] = process.argv.slice(1);
  const report = JSON.parse(readFileSync(file, "utf8"));
  let covered = 0, uncovered = 0;
  const gaps = [];
  for (const [name, f] of Object.entries(report.files ?? {})) {
    if (name.endsWith("_test.rego")) continue;
    covered += f.covered_lines ?? 0;
    uncovered += f.not_covered_lines ?? 0;
    for (const r of f.not_covered ?? []) gaps.push(`${name}:${r.start.row}-${r.end.row}`);
  }
  const percent = covered + uncovered === 0 ? 0 : (100 * covered) / (covered + uncovered);
  console.error(`[policy] coverage ${percent.toFixed(2)}% (${covered} of ${covered + uncovered} lines)`);
  if (gaps.length > 0) console.error(`[policy] not covered: ${gaps.join(", ")}`);
  if (percent < Number(threshold)) {
    console.error(`[policy] error: coverage is below ${threshold}%; add tests for the lines above.`);
    process.exit(1);
  }
' "$work/coverage.json" "$COVERAGE_THRESHOLD"

log "opa build -t wasm -e $ENTRYPOINT"
mkdir -p "$work/bundle"
"$opa" build -t wasm -e "$ENTRYPOINT" --capabilities "$caps" --ignore '*_test.rego' \
  -o "$work/bundle.tar.gz" policies/data "${sources[@]}"
# Members are stored as /policy.wasm and /data.json; GNU tar says so on stderr for each.
tar -xzf "$work/bundle.tar.gz" -C "$work/bundle" 2> >(grep -v 'Removing leading' >&2 || true)
for f in policy.wasm data.json .manifest; do
  [ -f "$work/bundle/$f" ] || fail "opa build produced no $f"
done

# Signed are exactly the files the gateway reads: the module, the data and the manifest.
if [ -z "$signing_key" ]; then
  signing_key=$DEMO_SIGNING_KEY
  log "signing with the DEMO key $signing_key (for demo mode only; pass --signing-key for a real bundle)"
else
  log "signing with $signing_key ($signing_alg)"
fi
[ -f "$signing_key" ] || fail "signing key $signing_key does not exist; pass --signing-key <private key PEM>."
signing_key=$(cd "$(dirname "$signing_key")" && pwd)/$(basename "$signing_key")
mkdir -p "$work/signed"
cp "$work/bundle/policy.wasm" "$work/bundle/data.json" "$work/bundle/.manifest" "$work/signed/"
(cd "$work/signed" && "$root/$opa" sign --signing-key "$signing_key" --signing-alg "$signing_alg" --bundle . -o .) ||
  fail "opa sign failed with $signing_key ($signing_alg); is it a private key of that algorithm?"

log "opa build -t wasm $fixture.rego (test fixture)"
mapfile -t fixture_entrypoints < <(grep -oE '^[a-z][a-z0-9_]* :=' "$fixture.rego" | cut -d' ' -f1 | LC_ALL=C sort -u)
mkdir -p "$work/fixture"
"$opa" build -t wasm --capabilities "$caps" $(printf -- '-e misbehaving/%s ' "${fixture_entrypoints[@]}") \
  -o "$work/fixture.tar.gz" "$fixture.rego"
tar -xzf "$work/fixture.tar.gz" -C "$work/fixture" 2> >(grep -v 'Removing leading' >&2 || true)

if [ "$mode" = build ]; then
  mkdir -p "$committed"
  cp "$work/signed/policy.wasm" "$work/signed/data.json" "$work/signed/.manifest" "$work/signed/.signatures.json" "$committed/"
  cp "$work/bundle.tar.gz" "$committed/bundle.tar.gz"
  cp "$work/fixture/policy.wasm" "$fixture.wasm"
  chmod 644 "$committed/policy.wasm" "$committed/data.json" "$committed/.manifest" "$committed/.signatures.json" "$fixture.wasm"
  log "wrote $committed/policy.wasm ($(wc -c <"$committed/policy.wasm") bytes), $committed/data.json and $fixture.wasm"
  exit 0
fi

# opa build is deterministic for the same sources, capabilities and opa version (checked by
# building twice and comparing bytes), so the committed files must match byte for byte.
stale=()
same() { # committed fresh
  if [ ! -f "$1" ]; then
    stale+=("$1 (missing)")
  elif ! cmp -s "$1" "$2"; then
    stale+=("$1")
  fi
}
same "$committed/policy.wasm" "$work/bundle/policy.wasm"
same "$committed/data.json" "$work/bundle/data.json"
# RS256 signatures are deterministic, so a bundle signed with the same key matches byte for byte.
for f in .manifest .signatures.json; do
  if [ ! -f "$committed/$f" ]; then
    stale+=("$committed/$f (missing)")
  elif [ "$(canonical "$committed/$f")" != "$(canonical "$work/signed/$f")" ]; then
    stale+=("$committed/$f")
  fi
done
same "$fixture.wasm" "$work/fixture/policy.wasm"
if [ "${#stale[@]}" -gt 0 ]; then
  fail "committed build output does not match the Rego sources and data: ${stale[*]}. Run 'npm run policy:build' and commit the files."
fi
log "committed bundle is up to date"
