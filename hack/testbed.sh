#!/usr/bin/env bash
# testbed.sh — the real local testbed: kube-apiserver v1.20.2 + etcd + a Kafka-API broker,
# loopback only, free ports, no Docker.
#
#   testbed.sh up     start whatever is not running; print eval-able export lines
#   testbed.sh env    print the export lines of a running testbed (exit 1 if it is not up)
#   testbed.sh down   stop every process it started (by PID) and remove its state
#   testbed.sh build  only build/cache the kube-apiserver binary (first run ~5 min)
#
#   eval "$(hack/testbed.sh up)"; kubectl get ns; ...; hack/testbed.sh down
#
# Env: CO_TESTBED_DIR (state; default .testbed in the repo), PYTHON (default .venv/bin/python),
#      CO_CACHE (apiserver build cache; default ~/.cache/contract-operator).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${CO_TESTBED_DIR:-$HERE/../.testbed}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
kube_up() { alive "$DIR/kube/apiserver.pid" && alive "$DIR/kube/etcd.pid" && [ -f "$DIR/kube/kubeconfig" ]; }
broker_up() { alive "$DIR/broker/broker.pid" && [ -f "$DIR/broker/bootstrap" ]; }

print_env() {
  local d; d=$(cd "$DIR" && pwd)
  echo "export KUBECONFIG=$d/kube/kubeconfig"
  echo "export BOOTSTRAP_SERVERS=$(cat "$d/broker/bootstrap")"
}

case "${1:-}" in
  up)
    mkdir -p "$DIR"
    # Each half is checked on its own, so a crashed broker restarts without touching the apiserver.
    kube_up || { "$HERE/kube-apiserver.sh" stop "$DIR/kube" 2>/dev/null || true; "$HERE/kube-apiserver.sh" start "$DIR/kube" >&2; }
    broker_up || { "$HERE/broker.sh" stop "$DIR/broker" 2>/dev/null || true; "$HERE/broker.sh" start "$DIR/broker" >&2; }
    print_env
    ;;
  env)
    if kube_up && broker_up; then print_env; else echo "testbed is not up (run: hack/testbed.sh up)" >&2; exit 1; fi
    ;;
  down)
    [ -d "$DIR" ] || exit 0
    "$HERE/broker.sh" stop "$DIR/broker"
    "$HERE/kube-apiserver.sh" stop "$DIR/kube"
    rm -rf "$DIR"
    echo "[testbed] down" >&2
    ;;
  build) "$HERE/kube-apiserver.sh" build >/dev/null ;;
  *) echo "usage: $0 up | env | down | build" >&2; exit 2 ;;
esac
