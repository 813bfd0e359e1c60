#!/usr/bin/env bash
# broker.sh — a real Kafka-API broker on loopback: noida-db (pinned wheel, native binary).
#
#   broker.sh start DIR   start with a fresh data dir under DIR on a free port; wait until a
#                         Kafka Metadata round trip works; write DIR/bootstrap
#   broker.sh stop DIR    stop it (by PID) and delete its data
#
# Env: PYTHON — an interpreter with noida-db and confluent-kafka installed (default: .venv).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-$HERE/../.venv/bin/python}
log() { echo "[broker] $*" >&2; }

start() {
  local D=${1:?usage: start DIR}
  mkdir -p "$D"; D=$(cd "$D" && pwd)
  local bin port
  bin=$("$PY" -c 'import noida_db, os; print(os.path.join(os.path.dirname(noida_db.__file__), "noida-db"))') || {
    log "noida-db is not installed for $PY (run: make install)"; return 1; }
  chmod +x "$bin"
  port=$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  rm -rf "$D/broker-data"; mkdir -p "$D/broker-data"
  # The binary warns about a weak GLIBC_2.39 symbol on bookworm; it is harmless.
  "$bin" start --data-dir "$D/broker-data" --host 127.0.0.1 --only kafka --kafka-port "$port" \
    > "$D/broker.log" 2>&1 &
  echo $! > "$D/broker.pid"
  "$PY" - "$port" "$(cat "$D/broker.pid")" <<'PYEOF'
import os, sys, time
from confluent_kafka.admin import AdminClient
port, pid = sys.argv[1], int(sys.argv[2])
t0 = time.time()
# allow.auto.create.topics=false: never let a readiness probe create topics.
admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}", "allow.auto.create.topics": False,
                     "socket.connection.setup.timeout.ms": 1000, "reconnect.backoff.ms": 20,
                     "reconnect.backoff.max.ms": 100, "log_level": 0})
while time.time() - t0 < 30:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("broker process exited")
    try:
        if admin.list_topics(timeout=1).brokers:
            sys.exit(0)
    except Exception:
        time.sleep(0.05)
sys.exit("broker not ready after 30 s")
PYEOF
  echo "127.0.0.1:$port" > "$D/bootstrap"
  log "ready at 127.0.0.1:$port"
}

stop() {
  local D=${1:?usage: stop DIR} pid
  if [ -f "$D/broker.pid" ]; then
    pid=$(cat "$D/broker.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$D/broker.pid"
  fi
  rm -rf "$D/broker-data" "$D/bootstrap"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop)  stop "${2:-}" ;;
  *) echo "usage: $0 start DIR | stop DIR" >&2; exit 2 ;;
esac
