#!/usr/bin/env bash
# testbed.sh — the real local testbed, loopback only, free ports, no Docker:
#   kube-apiserver + kube-controller-manager + etcd (hack/kube-apiserver.sh) and a three-node
#   Apache Kafka KRaft cluster with SASL_SSL, ACLs and a create policy (hack/kafka.sh).
#
#   testbed.sh up     start whatever is not running; print eval-able export lines
#   testbed.sh env    print the export lines of a running testbed (exit 1 if it is not up)
#   testbed.sh down   stop every process it started (by PID) and remove its state
#   testbed.sh build  only build/cache the binaries and jars (first run ~10 min, then instant)
#
#   eval "$(hack/testbed.sh up)"; kubectl get ns; ...; hack/testbed.sh down
#
# Exports: KUBECONFIG, BOOTSTRAP_SERVERS (PLAINTEXT, a super user), SECURE_BOOTSTRAP_SERVERS,
#   SECURE_SASL_USERNAME / SECURE_SASL_PASSWORD (the operator's ACL-limited SCRAM principal),
#   SECURE_CA_FILE, KAFKA_ADMIN_SASL_PASSWORD (SCRAM user "admin", a super user) and
#   KAFKA_TESTBED_DIR (for tests that stop a node: hack/kafka.sh stop-node DIR N).
#
# Env: CO_TESTBED_DIR (state; default .testbed in the repo), PYTHON (default .venv/bin/python),
#      CO_CACHE (build cache; default ~/.cache/contract-operator).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${CO_TESTBED_DIR:-$HERE/../.testbed}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
kube_up() { alive "$DIR/kube/apiserver.pid" && alive "$DIR/kube/etcd.pid" && [ -f "$DIR/kube/kubeconfig" ]; }
kafka_up() { [ -f "$DIR/kafka/env" ] && alive "$DIR/kafka/node1/pid" && alive "$DIR/kafka/node2/pid" && alive "$DIR/kafka/node3/pid"; }

print_env() {
  local d; d=$(cd "$DIR" && pwd)
  echo "export KUBECONFIG=$d/kube/kubeconfig"
  cat "$d/kafka/env"
}

case "${1:-}" in
  up)
    mkdir -p "$DIR"
    # Each half is checked on its own, so a crashed cluster restarts without touching the other.
    kube_up || { "$HERE/kube-apiserver.sh" stop "$DIR/kube" 2>/dev/null || true; "$HERE/kube-apiserver.sh" start "$DIR/kube" >&2; }
    kafka_up || { "$HERE/kafka.sh" stop "$DIR/kafka" 2>/dev/null || true; "$HERE/kafka.sh" start "$DIR/kafka" >&2; }
    print_env
    ;;
  env)
    if kube_up && kafka_up; then print_env; else echo "testbed is not up (run: hack/testbed.sh up)" >&2; exit 1; fi
    ;;
  down)
    [ -d "$DIR" ] || exit 0
    "$HERE/kafka.sh" stop "$DIR/kafka"
    "$HERE/kube-apiserver.sh" stop "$DIR/kube"
    rm -rf "$DIR"
    echo "[testbed] down" >&2
    ;;
  build)
    "$HERE/kube-apiserver.sh" build >/dev/null
    "$HERE/kafka.sh" build
    ;;
  *) echo "usage: $0 up | env | down | build" >&2; exit 2 ;;
esac
