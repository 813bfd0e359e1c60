#!/usr/bin/env bash
# demo.sh — the contract-operator demo on the real local testbed (see hack/testbed.sh).
#
#   demo.sh up     testbed + CRD + namespace `demo`, a hand-made drifted topic, the operator in
#                  the background, the NodeContracts in examples/demo/; then `kubectl get nc`
#   demo.sh down   stop the operator, stop the testbed, remove the demo state
#
# Both are idempotent: `up` twice restarts the operator and re-applies the examples.
# Env: CO_TESTBED_DIR (passed through to hack/testbed.sh), CO_DEMO_DIR (default .demo),
#      VENV (default .venv).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DEMO=${CO_DEMO_DIR:-$ROOT/.demo}
VENV=${VENV:-$ROOT/.venv}
case "$VENV" in /*) ;; *) VENV=$ROOT/$VENV ;; esac
PY=$VENV/bin/python
KUBECTL=$VENV/bin/kubectl
[ -x "$KUBECTL" ] || KUBECTL=kubectl
OPERATOR=$VENV/bin/contract-operator
NS=demo
DRIFTED_TOPIC=onex.evt.billing.invoice-issued.v1
WEBHOOK_CONFIG=contract-operator-demo
WAIT_SECONDS=60

log() { echo "[demo] $*" >&2; }

# Stop the operator this script started (by its PID file), and wait until it has exited.
stop_operator() {
  local pid
  [ -f "$DEMO/operator.pid" ] || return 0
  pid=$(cat "$DEMO/operator.pid")
  # Only signal the PID if it still is our operator (PIDs get reused).
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "contract-operator"; then
    log "stopping the operator (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "operator did not exit after 10 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$DEMO/operator.pid"
}

# The drifted topic, made "by hand" before the operator starts: 2 partitions and 1 hour of
# retention where billing's contract says 6 and 7 days. Idempotent.
precreate_drifted_topic() {
  "$PY" - "$BOOTSTRAP_SERVERS" "$DRIFTED_TOPIC" <<'PYEOF'
import sys
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, topic = sys.argv[1], sys.argv[2]
admin = AdminClient({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False})
new = NewTopic(topic, num_partitions=2, replication_factor=1,
               config={"retention.ms": "3600000", "cleanup.policy": "delete"})
try:
    admin.create_topics([new], request_timeout=15)[topic].result(timeout=30)
    print(f"[demo] created {topic} by hand: 2 partitions, retention.ms=3600000", file=sys.stderr)
except Exception as exc:
    error = exc.args[0] if exc.args else None
    if getattr(error, "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS:
        print(f"[demo] {topic} already exists; left as it is", file=sys.stderr)
    else:
        sys.exit(f"[demo] could not create {topic}: {exc}")
PYEOF
}

free_ports() {  # three distinct free loopback ports
  "$PY" -c 'import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))'
}

# Every NodeContract in the namespace has a Ready condition for its current generation.
all_ready() {
  local lines
  lines=$("$KUBECTL" get nc -n "$NS" -o \
    jsonpath='{range .items[*]}{.metadata.generation}/{.status.observedGeneration}/{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    2>/dev/null) || return 1
  [ -n "$lines" ] || return 1
  while IFS=/ read -r generation observed ready; do
    [ -n "$ready" ] && [ "$generation" = "$observed" ] || return 1
  done <<< "$lines"
}

start_operator() {
  local metrics_port health_port webhook_port pid log_start
  read -r metrics_port health_port webhook_port <<< "$(free_ports)"
  touch "$DEMO/operator.log"
  log_start=$(wc -l < "$DEMO/operator.log")
  log "starting the operator (namespace $NS, resync 10 s); log: $DEMO/operator.log"
  # The admission webhook: a self-signed certificate for 127.0.0.1, and the operator writes
  # the ValidatingWebhookConfiguration (fail-open) pointing at https://127.0.0.1:PORT.
  nohup "$OPERATOR" run --namespace "$NS" --resync-seconds 10 \
    --metrics-port "$metrics_port" --health-port "$health_port" \
    --admission-mode deny --admission-host 127.0.0.1 --admission-addr 127.0.0.1 \
    --admission-port "$webhook_port" --admission-webhook-config "$WEBHOOK_CONFIG" \
    >> "$DEMO/operator.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$DEMO/operator.pid"
  echo "$metrics_port" > "$DEMO/metrics.port"
  echo "$health_port" > "$DEMO/health.port"
  sleep 1
  if ! kill -0 "$pid" 2>/dev/null; then
    log "the operator exited at once; its log:"
    tail -n 30 "$DEMO/operator.log" >&2
    rm -f "$DEMO/operator.pid"
    exit 1
  fi
  for _ in $(seq 150); do
    tail -n +"$((log_start + 1))" "$DEMO/operator.log" \
      | grep -q "webhook configuration $WEBHOOK_CONFIG is up to date" && return 0
    sleep 0.1
  done
  log "the admission webhook did not come up within 15 s (apply still works: it fails open)"
}

wait_ready() {
  log "waiting (up to ${WAIT_SECONDS} s) for every NodeContract in $NS to be reconciled"
  local deadline=$((SECONDS + WAIT_SECONDS))
  until all_ready; do
    if ! kill -0 "$(cat "$DEMO/operator.pid")" 2>/dev/null; then
      log "the operator has exited; its log:"; tail -n 30 "$DEMO/operator.log" >&2; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out; the operator's log:"; tail -n 30 "$DEMO/operator.log" >&2
      "$KUBECTL" get nc -n "$NS" -o wide >&2 || true
      exit 1
    fi
    sleep 1
  done
}

up() {
  mkdir -p "$DEMO"
  stop_operator
  local env_lines
  env_lines=$("$HERE/testbed.sh" up)
  eval "$env_lines"
  export KUBECONFIG BOOTSTRAP_SERVERS

  log "applying the CRD"
  "$KUBECTL" apply -f "$ROOT/crds/nodecontract.yaml" >&2
  "$KUBECTL" wait --for condition=established --timeout=60s crd/nodecontracts.eventbus.dev >&2
  "$KUBECTL" get namespace "$NS" >/dev/null 2>&1 || "$KUBECTL" create namespace "$NS" >&2

  precreate_drifted_topic
  start_operator

  log "applying examples/demo/ (all but the notifier)"
  for f in "$ROOT"/examples/demo/*.yaml; do
    [ "$(basename "$f")" = notifier.yaml ] || "$KUBECTL" apply -f "$f" >&2
  done
  wait_ready
  # The notifier subscribes to routing_complete: the webhook's warning shows at apply time.
  local notifier_out
  notifier_out=$("$KUBECTL" apply -f "$ROOT/examples/demo/notifier.yaml" 2>&1)
  wait_ready

  local env_cmd="hack/testbed.sh env"
  [ -n "${CO_TESTBED_DIR:-}" ] && env_cmd="CO_TESTBED_DIR=$CO_TESTBED_DIR hack/testbed.sh env"

  echo
  echo "\$ kubectl apply -f examples/demo/notifier.yaml     # subscribes to routing_complete"
  echo "$notifier_out"
  echo
  echo "\$ kubectl get nc -n $NS"
  "$KUBECTL" get nc -n "$NS"
  echo
  echo "\$ kubectl get nc -n $NS -o wide"
  "$KUBECTL" get nc -n "$NS" -o wide
  cat <<EOF

What you are looking at
  the apply        the admission webhook (served by the operator) admitted the notifier and
                   kubectl printed its Warning with the fix; names that can never be created
                   are refused at apply time. It fails open: with the operator down, apply
                   still works and the loop reports the same problems later.
  gateway, router  healthy: their topics were created from the contracts, router's
                   subscription is published by gateway. Ready=True.
  billing          drifted: $DRIFTED_TOPIC was made by hand with 2 partitions and
                   1 hour of retention; the contract says 6 and 7 days. The operator reports
                   it (Drifted=True, reason UnsafeDrift: the broker keeps less data than
                   declared) and never alters the topic.
  notifier         broken wire: it subscribes to onex.evt.router.routing_complete.v1, which
                   nobody publishes ('_' vs '-'). Wired=False, with a "did you mean".

Try this (from $ROOT)
  eval "\$($env_cmd)"; export PATH="\$PWD/.venv/bin:\$PATH"
  kubectl describe nc billing -n $NS          # per-topic drift, declared vs actual
  kubectl get events -n $NS
  # fix the notifier's typo; within a few seconds Wired and Ready turn True:
  kubectl patch nc notifier -n $NS --type json -p '[{"op":"replace","path":"/spec/eventBus/subscribeTopics/0","value":"onex.evt.router.routing-complete.v1"}]'
  kubectl get nc -n $NS -w
  contract-operator plan examples/demo        # the same checks from the CLI, read-only
  contract-operator report -n $NS             # everything wrong on the bus, one report
  curl -s 127.0.0.1:$(cat "$DEMO/health.port")/healthz  # liveness: seconds since the last cycle

  operator log:  $DEMO/operator.log
  metrics:       http://127.0.0.1:$(cat "$DEMO/metrics.port")/metrics
  tear down:     make demo-down
EOF
}

down() {
  stop_operator
  # The webhook configuration fails open, but a leftover one would still be called in vain.
  local env_lines
  if env_lines=$("$HERE/testbed.sh" env 2>/dev/null); then
    eval "$env_lines"
    export KUBECONFIG
    "$KUBECTL" delete validatingwebhookconfiguration "$WEBHOOK_CONFIG" --ignore-not-found \
      >/dev/null 2>&1 || true
  fi
  "$HERE/testbed.sh" down
  rm -rf "$DEMO"
  log "down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up | down" >&2; exit 2 ;;
esac
