#!/usr/bin/env bash
# kube-apiserver.sh — a current kube-apiserver + kube-controller-manager + etcd on loopback, no
# Docker. Both are built from the Go module proxy once and cached under $CO_CACHE by version:
#
#   * Kubernetes: a tiny module requiring k8s.io/kubernetes@$K8S_VERSION. Its go.mod requires
#     every staging module (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 with local replaces,
#     so the replace list is generated from that release's own go.mod (never hand-written).
#   * etcd: go.etcd.io/etcd/server/v3 as a dependency of its own module (its go.mod has
#     replaces of its own, so it cannot share the Kubernetes module).
#
#   kube-apiserver.sh build        build (first run only, ~10 min on 2 cores) and print the path
#   kube-apiserver.sh start DIR    start etcd + apiserver + controller-manager with state in DIR,
#                                  wait for /readyz, write DIR/kubeconfig
#   kube-apiserver.sh stop DIR     stop all three (by PID) and delete their state
#
# Env: CO_CACHE (default ~/.cache/contract-operator), KAPI_AUTHZ (RBAC | AlwaysAllow; default
#      RBAC), KAPI_CONTROLLER_MANAGER (1 | 0; default 1).
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
CACHE=${CO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/contract-operator}
KBIN=$CACHE/kubernetes-$K8S_VERSION
BIN=$KBIN/kube-apiserver
KCM=$KBIN/kube-controller-manager
ETCD=$CACHE/etcd-$ETCD_VERSION/etcd
TOKEN=contract-operator-admin
KCM_TOKEN=contract-operator-kcm
log() { echo "[kube-apiserver] $*" >&2; }

# shellcheck source=hack/lib.sh
. "$(dirname "$0")/lib.sh"

ensure_tools() {
  local need=()
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  apt_install "${need[@]}"
  command -v go >/dev/null || { log "needs Go >= 1.26 (the Kubernetes $K8S_VERSION go.mod says so)"; return 1; }
}

build_kubernetes() {
  [ -x "$BIN" ] && [ -x "$KCM" ] && return 0
  local W; W=$(mktemp -d "${TMPDIR:-/tmp}/co-kube-build.XXXXXX")
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local staging=v0.${K8S_VERSION#v1.}
  log "building kube-apiserver and kube-controller-manager $K8S_VERSION in $W (first run only, ~10 min)"
  ( cd "$W"
    export GOFLAGS=-mod=mod GOWORK=off
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    go mod init contract-operator.testbed/kubernetes >/dev/null 2>&1
    go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$gomod")"
    # Every k8s.io/* module the release requires at v0.0.0 is a staging module of the same
    # release: pin it before the first `go get`, or resolution fails on v0.0.0.
    awk '$2=="v0.0.0" && $1 ~ /^k8s\.io\// {print $1}' "$gomod" | sort -u | while read -r m; do
      go mod edit -replace="$m=$m@$staging"
    done
    local gd; gd=$(awk '$1=="godebug"{$1=""; sub(/^ /, ""); print; exit}' "$gomod")
    [ -z "$gd" ] || go mod edit -godebug="$gd"
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION"
    # Without these, /version says v0.0.0 and clients warn about the skew.
    local LD="-s -w" P
    for P in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      LD="$LD -X $P.gitVersion=$K8S_VERSION -X $P.gitMajor=1 -X $P.gitMinor=$minor -X $P.gitTreeState=clean"
    done
    mkdir -p out
    CGO_ENABLED=0 go build -trimpath -ldflags "$LD" -o out/ \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager )
  mkdir -p "$CACHE"; rm -rf "$KBIN.tmp"; mv "$W/out" "$KBIN.tmp"; rm -rf "$KBIN"; mv "$KBIN.tmp" "$KBIN"
  chmod -R u+w "$W" && rm -rf "$W"
  log "built $KBIN"
}

build_etcd() {
  [ -x "$ETCD" ] && return 0
  local W; W=$(mktemp -d "${TMPDIR:-/tmp}/co-etcd-build.XXXXXX")
  log "building etcd $ETCD_VERSION in $W (first run only, ~2 min)"
  ( cd "$W"
    export GOFLAGS=-mod=mod GOWORK=off
    go mod init contract-operator.testbed/etcd >/dev/null 2>&1
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    mkdir -p out
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3 )
  mkdir -p "$(dirname "$ETCD")"; mv "$W/out/etcd" "$ETCD.tmp"; mv "$ETCD.tmp" "$ETCD"
  chmod -R u+w "$W" && rm -rf "$W"
  log "built $ETCD"
}

build() {
  ensure_tools
  build_kubernetes
  build_etcd
  echo "$BIN"
}

# write_kubeconfig FILE URL CA USER TOKEN NAMESPACE: a token kubeconfig for the testbed.
write_kubeconfig() {
  cat > "$1" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster: {server: "$2", certificate-authority: "$3"}
users:
- name: $4
  user: {token: "$5"}
contexts:
- name: testbed
  context: {cluster: testbed, user: $4, namespace: $6}
current-context: testbed
KCFG
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
    echo "$TOKEN,admin,admin,system:masters" > tokens.csv
    # The user RBAC's bootstrap policy binds to system:kube-controller-manager.
    echo "$KCM_TOKEN,system:kube-controller-manager,kcm" >> tokens.csv )
  local T0; T0=$(date +%s%N)
  "$ETCD" --name co --data-dir "$D/etcd-data" \
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
  write_kubeconfig "$D/kubeconfig" "$URL" "$D/pki/ca.crt" admin "$TOKEN" default
  [ "${KAPI_CONTROLLER_MANAGER:-1}" = 0 ] || start_controller_manager "$D" "$URL"
  log "ready at $URL after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
}

start_controller_manager() {
  # Namespaces finish deleting, garbage collection runs, ServiceAccounts get their tokens' CA
  # ConfigMap: the testbed behaves like a cluster, not like a bare apiserver. No nodes, so the
  # node and pod lifecycle controllers have nothing to do.
  local D=$1 URL=$2
  write_kubeconfig "$D/kcm.kubeconfig" "$URL" "$D/pki/ca.crt" kcm "$KCM_TOKEN" kube-system
  "$KCM" --kubeconfig="$D/kcm.kubeconfig" --authentication-kubeconfig="$D/kcm.kubeconfig" \
    --authorization-kubeconfig="$D/kcm.kubeconfig" --bind-address=127.0.0.1 --secure-port=0 \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$D/pki/sa.key" --root-ca-file="$D/pki/ca.crt" \
    --cluster-signing-cert-file="$D/pki/ca.crt" --cluster-signing-key-file="$D/pki/ca.key" \
    --controllers='*,-nodeipam,-nodelifecycle,-persistentvolume-binder,-attachdetach,-persistentvolume-expander,-ephemeral-volume,-taint-eviction-controller' \
    > "$D/controller-manager.log" 2>&1 &
  echo $! > "$D/controller-manager.pid"
}

stop() {
  local D=${1:?usage: stop DIR} f pid
  for f in controller-manager apiserver etcd; do
    [ -f "$D/$f.pid" ] || continue
    pid=$(cat "$D/$f.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$D/$f.pid"
  done
  rm -rf "$D/etcd-data" "$D/pki" "$D/kubeconfig" "$D/kcm.kubeconfig"
}

case "${1:-}" in
  build) build ;;
  start) start "${2:-}" ;;
  stop)  stop "${2:-}" ;;
  *) echo "usage: $0 build | start DIR | stop DIR" >&2; exit 2 ;;
esac
