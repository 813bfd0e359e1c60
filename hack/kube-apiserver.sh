#!/usr/bin/env bash
# kube-apiserver.sh — a real kube-apiserver v1.20.2 + etcd on loopback, no Docker.
#
# The apiserver is built once from Debian bookworm's `kubernetes` source package (which carries
# vendor/) and cached under $CO_CACHE keyed by version; etcd comes from Debian's etcd-server.
#
#   kube-apiserver.sh build        build (first run only, ~5 min) and print the binary path
#   kube-apiserver.sh start DIR    start etcd + apiserver with state in DIR, wait for /readyz,
#                                  write DIR/kubeconfig
#   kube-apiserver.sh stop DIR     stop both (by PID) and delete their state
#
# Env: CO_CACHE (default ~/.cache/contract-operator), KAPI_AUTHZ (RBAC | AlwaysAllow; default RBAC).
set -euo pipefail

K8S_VERSION=v1.20.2
CACHE=${CO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/contract-operator}
# The suffix names the reflect2 fix: a binary built without it is not reusable.
BIN=$CACHE/kube-apiserver-$K8S_VERSION-deb12-reflect2fix
TOKEN=contract-operator-admin
log() { echo "[kube-apiserver] $*" >&2; }

ensure_deb_src() {
  # `apt-get source` needs a deb-src entry; derive one from the configured Debian mirror.
  local srcs=/etc/apt/sources.list.d/debian.sources
  if [ -f "$srcs" ]; then
    grep -q '^Types:.*deb-src' "$srcs" && return 0
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$srcs"
  else
    grep -rqs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list && return 0
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > /etc/apt/sources.list.d/contract-operator-src.list
  fi
  apt-get update -qq
}

apt_install() {
  [ $# -gt 0 ] || return 0
  log "apt-get install $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_runtime_pkgs() {
  local need=()
  command -v etcd >/dev/null || need+=(etcd-server)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  apt_install "${need[@]}"
}

build() {
  ensure_runtime_pkgs
  if [ -x "$BIN" ]; then echo "$BIN"; return 0; fi
  local need=()
  command -v go >/dev/null || need+=(golang-go)
  [ -f /usr/share/gocode/src/github.com/modern-go/reflect2/go_above_118.go ] ||
    need+=(golang-github-modern-go-reflect2-dev)
  command -v dpkg-source >/dev/null || need+=(dpkg-dev)
  apt_install "${need[@]}"
  ensure_deb_src
  local W; W=$(mktemp -d "${TMPDIR:-/tmp}/co-kapi-build.XXXXXX")
  log "building kube-apiserver $K8S_VERSION in $W (first run only, ~5 min)"
  ( cd "$W"
    apt-get source --download-only -qq kubernetes >/dev/null 2>&1
    mkdir -p gopath/src/k8s.io
    dpkg-source -q -x kubernetes_*.dsc gopath/src/k8s.io/kubernetes >/dev/null
    cd gopath/src/k8s.io/kubernetes
    # Vendored reflect2 1.0.1 segfaults under Go >= 1.18 on the first ?pretty or YAML response
    # containing a map; Debian's 1.0.2 has the same API and works.
    rm -rf vendor/github.com/modern-go/reflect2
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
    # Kubernetes 1.20 builds in GOPATH mode.
    export GOPATH="$W/gopath" GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOPROXY=off GOCACHE="$W/gocache"
    # The source tarball lacks the generated OpenAPI definitions that `make` would produce.
    go build -o "$W/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
    DIRS=$(find -H . \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune -o -type f -name '*.go' -print \
      | sed 's|^\./staging/src|vendor|; s|^\./||' | xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' \
      | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' \
      | xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd,)
    "$W/openapi-gen" -i "$DIRS" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
      -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$W/violations.report"
    # Without these, /version reports v0.0.0 and clients warn.
    LD="-s -w"
    for P in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
      LD="$LD -X $P.gitVersion=$K8S_VERSION -X $P.gitMajor=1 -X $P.gitMinor=20 -X $P.gitTreeState=clean -X $P.buildDate=2021-01-13T00:00:00Z"
    done
    go build -trimpath -ldflags "$LD" -o "$W/kube-apiserver" ./cmd/kube-apiserver
  )
  mkdir -p "$CACHE" && mv "$W/kube-apiserver" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
  chmod -R u+w "$W" && rm -rf "$W"
  log "built $BIN"
  echo "$BIN"
}

free_ports() {
  python3 -c 'import socket;s=[socket.socket() for _ in range(3)];[x.bind(("127.0.0.1",0)) for x in s];print(*[x.getsockname()[1] for x in s])'
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  local D=${1:?usage: start DIR}
  build >/dev/null
  mkdir -p "$D"; D=$(cd "$D" && pwd)
  local PORT EP PP; read -r PORT EP PP < <(free_ports)
  mkdir -p "$D/etcd-data" "$D/pki"
  ( cd "$D/pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=contract-operator-testbed-ca \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    echo "$TOKEN,admin,admin,system:masters" > tokens.csv )
  local T0; T0=$(date +%s%N)
  etcd --name co --data-dir "$D/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$EP" --advertise-client-urls "http://127.0.0.1:$EP" \
    --listen-peer-urls "http://127.0.0.1:$PP" --initial-advertise-peer-urls "http://127.0.0.1:$PP" \
    --initial-cluster "co=http://127.0.0.1:$PP" --unsafe-no-fsync > "$D/etcd.log" 2>&1 &
  echo $! > "$D/etcd.pid"
  "$BIN" --etcd-servers="http://127.0.0.1:$EP" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$PORT" \
    --tls-cert-file="$D/pki/server.crt" --tls-private-key-file="$D/pki/server.key" \
    --client-ca-file="$D/pki/ca.crt" \
    --token-auth-file="$D/pki/tokens.csv" --authorization-mode="${KAPI_AUTHZ:-RBAC}" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$D/pki/sa.key" --service-account-signing-key-file="$D/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/12 --endpoint-reconciler-type=none \
    --profiling=false > "$D/apiserver.log" 2>&1 &
  echo $! > "$D/apiserver.pid"
  local URL="https://127.0.0.1:$PORT" i
  for i in $(seq 600); do
    curl -sf --cacert "$D/pki/ca.crt" -H "Authorization: Bearer $TOKEN" "$URL/readyz" >/dev/null 2>&1 && break
    alive "$D/apiserver.pid" || { tail -20 "$D/apiserver.log" >&2; stop "$D"; return 1; }
    sleep 0.1
  done
  [ "$i" -lt 600 ] || { log "timeout waiting for /readyz"; tail -20 "$D/apiserver.log" >&2; stop "$D"; return 1; }
  cat > "$D/kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster: {server: "$URL", certificate-authority: "$D/pki/ca.crt"}
users:
- name: admin
  user: {token: "$TOKEN"}
contexts:
- name: testbed
  context: {cluster: testbed, user: admin, namespace: default}
current-context: testbed
KCFG
  log "ready at $URL after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
}

stop() {
  local D=${1:?usage: stop DIR} f pid
  for f in apiserver etcd; do
    [ -f "$D/$f.pid" ] || continue
    pid=$(cat "$D/$f.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$D/$f.pid"
  done
  rm -rf "$D/etcd-data" "$D/pki" "$D/kubeconfig"
}

case "${1:-}" in
  build) build ;;
  start) start "${2:-}" ;;
  stop)  stop "${2:-}" ;;
  *) echo "usage: $0 build | start DIR | stop DIR" >&2; exit 2 ;;
esac
