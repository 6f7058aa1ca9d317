#!/usr/bin/env bash
# `npm test`: everything, in the order that fails fastest. Brings up what it needs (pinned tools,
# emulators via the vitest global setup) and tears it down.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m (t+%ss)\n' "$1" "$((SECONDS - started))"; }

for cmd in node java python3 go; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    case "$cmd" in
      java) echo "error: java not found: install a Java 17+ runtime (DynamoDB Local needs it)" >&2 ;;
      python3) echo "error: python3 not found: install Python 3.9+ with venv (moto server, cfn-lint)" >&2 ;;
      go) echo "error: go not found: install Go 1.26+ (builds the pinned opa and regal CLIs once)" >&2 ;;
      *) echo "error: $cmd not found" >&2 ;;
    esac
    exit 1
  fi
done

step "pinned tools (opa, regal, DynamoDB Local, moto, cfn-lint, the Lambda runtime's Node.js)"
bash scripts/tools.sh

step "format and lint (biome)"
npx biome ci --error-on-warnings .

step "typecheck (tsc strict)"
npx tsc -p tsconfig.json

step "layer rules (dependency-cruiser)"
npx depcruise functions cdk client --config .dependency-cruiser.cjs

step "policies: opa fmt, regal lint, check --strict, test --coverage, committed wasm is fresh"
bash scripts/policy-build.sh --check

step "tests: unit, integration, packaging and slow projects (vitest)"
npx vitest run

printf '\nnpm test: all steps passed in %ss\n' "$((SECONDS - started))"
