#!/usr/bin/env bash
# kafka.sh — a real Apache Kafka cluster on loopback, no Docker: three combined broker+controller
# KRaft nodes, built from Maven Central jars (hack/kafka/pom.xml) and cached by Kafka version.
#
#   kafka.sh build        resolve the jars and compile the create policy (first run ~1 min)
#   kafka.sh start DIR    format and start three nodes with state in DIR, wait until all three
#                         brokers answer, write DIR/env (the export lines testbed.sh prints)
#   kafka.sh stop DIR     stop every node (by PID) and delete their state
#   kafka.sh stop-node DIR N / start-node DIR N    stop or restart one node (fault tests)
#
# Each node listens on three ports: PLAINTEXT (clients and inter-broker; principal ANONYMOUS, a
# super user, for tests that are not about security), CONTROLLER (the KRaft quorum) and SASL_SSL
# (SCRAM-SHA-512 over TLS; principals subject to ACLs through StandardAuthorizer). Defaults are a
# production cluster's, not a laptop's: 3 partitions, replication factor 3, auto-create on.
# A CreateTopicPolicy refuses names containing "forbidden".
#
# Env: CO_CACHE (default ~/.cache/contract-operator), PYTHON (an interpreter with confluent-kafka;
#      default .venv/bin/python), KAFKA_HEAP (default 768m), KAFKA_NODES (start only: 3, or 1
#      for a test's own throwaway cluster; replication defaults follow the node count).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/kafka/pom.xml")
CACHE=${CO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/contract-operator}
# The suffix changes when the policy source changes, so a stale build is never reused.
SRC_SUM=$(cat "$HERE/kafka/pom.xml" "$HERE"/kafka/src/main/java/dev/eventbus/testbed/*.java | sha256sum | cut -c1-8)
HOME_DIR=$CACHE/kafka-$KAFKA_VERSION-$SRC_SUM
PY=${PYTHON:-$HERE/../.venv/bin/python}
log() { echo "[kafka] $*" >&2; }

build() {
  if [ -f "$HOME_DIR/.built" ]; then return 0; fi
  command -v mvn >/dev/null || { log "needs Maven (apt-get install maven) and a JDK 17"; return 1; }
  local W; W=$(mktemp -d "${TMPDIR:-/tmp}/co-kafka-build.XXXXXX")
  log "resolving Apache Kafka $KAFKA_VERSION from Maven (first run only, about 1 min)"
  cp -r "$HERE/kafka/pom.xml" "$HERE/kafka/src" "$W/"
  ( cd "$W" && mvn -B -q -ntp package dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory=target/lib ) >&2
  rm -rf "$HOME_DIR.tmp"; mkdir -p "$HOME_DIR.tmp"
  mv "$W/target/lib" "$HOME_DIR.tmp/lib"; mv "$W/target/classes" "$HOME_DIR.tmp/classes"
  rm -rf "$W" "$HOME_DIR"; mv "$HOME_DIR.tmp" "$HOME_DIR"; touch "$HOME_DIR/.built"
  log "built $HOME_DIR"
}

free_ports() {
  python3 -c 'import socket,sys;s=[socket.socket() for _ in range(int(sys.argv[1]))];[x.bind(("127.0.0.1",0)) for x in s];print(*[x.getsockname()[1] for x in s])' "$1"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

java_cmd() {
  # Small and quick to start on 2 cores; ExitOnOutOfMemoryError so a dying node is visible.
  echo java -Xms64m "-Xmx${KAFKA_HEAP:-768m}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$HERE/kafka/log4j2.properties" -cp "$HOME_DIR/classes:$HOME_DIR/lib/*"
}

make_pki() {
  local P=$1
  mkdir -p "$P"
  ( cd "$P"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=contract-operator-testbed-kafka-ca \
      -keyout ca.key -out ca.crt 2>/dev/null
    # PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: what Kafka's PEM keystore reads without a password.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out broker.key 2>/dev/null
    openssl req -new -key broker.key -subj /CN=localhost -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.crt 2>/dev/null
    cat broker.key broker.crt ca.crt > broker.pem
    # A second, unrelated CA: "untrusted CA" tests point clients at it.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=some-other-ca \
      -keyout other-ca.key -out other-ca.crt 2>/dev/null
    rm -f broker.csr broker.ext ca.srl )
}

nodes_of() { seq "$(cat "$1/nodes" 2>/dev/null || echo 3)"; }

write_config() {
  local D=$1 n=$2 voters=$3 rf; rf=$(cat "$D/nodes")
  local p c s; read -r p c s < "$D/node$n/ports"
  cat > "$D/node$n/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$c,SASL_SSL://127.0.0.1:$s
advertised.listeners=PLAINTEXT://127.0.0.1:$p,SASL_SSL://127.0.0.1:$s
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
log.dirs=$D/node$n/data
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$D/pki/broker.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false
create.topic.policy.class.name=dev.eventbus.testbed.ForbiddenNamePolicy
num.partitions=3
default.replication.factor=$rf
auto.create.topics.enable=true
min.insync.replicas=1
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.network.threads=1
num.io.threads=2
background.threads=2
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=4194304
log.cleaner.threads=1
PROPS
}

start_node() {
  local D=$1 n=$2
  alive "$D/node$n/pid" && return 0
  # shellcheck disable=SC2046
  nohup $(java_cmd) kafka.Kafka "$D/node$n/server.properties" >> "$D/node$n/log" 2>&1 &
  echo $! > "$D/node$n/pid"
}

stop_node() {
  local D=$1 n=$2 pid
  [ -f "$D/node$n/pid" ] || return 0
  pid=$(cat "$D/node$n/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$D/node$n/pid"
}

wait_brokers() {
  # Ready means all three brokers are registered (a topic with replication factor 3 can be made).
  local D=$1 want=$2
  "$PY" - "$(cat "$D/bootstrap")" "$want" "$D" <<'PYEOF'
import glob, os, sys, time
from confluent_kafka.admin import AdminClient
bootstrap, want, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
admin = AdminClient({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False,
                     "socket.connection.setup.timeout.ms": 1000, "reconnect.backoff.ms": 50,
                     "reconnect.backoff.max.ms": 200, "log_level": 0})
t0 = time.time()
while time.time() - t0 < 90:
    for pidfile in glob.glob(f"{d}/node*/pid"):
        try:
            os.kill(int(open(pidfile).read()), 0)
        except OSError:
            sys.exit(f"kafka node exited; see {os.path.dirname(pidfile)}/log")
    try:
        if len(admin.list_topics(timeout=2).brokers) >= want:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit(f"kafka: fewer than {want} brokers after 90 s")
PYEOF
}

start() {
  local D=${1:?usage: start DIR}
  build
  mkdir -p "$D"; D=$(cd "$D" && pwd)
  local T0; T0=$(date +%s%N)
  local count=${KAFKA_NODES:-3}
  case $count in 1|3) ;; *) log "KAFKA_NODES must be 1 or 3"; return 2 ;; esac
  echo "$count" > "$D/nodes"
  read -r -a PORTS < <(free_ports $((count * 3)))
  local voters="" n i=0
  for n in $(nodes_of "$D"); do
    mkdir -p "$D/node$n/data"
    echo "${PORTS[$i]} ${PORTS[$((i+1))]} ${PORTS[$((i+2))]}" > "$D/node$n/ports"
    voters="$voters${voters:+,}$n@127.0.0.1:${PORTS[$((i+1))]}"
    i=$((i+3))
  done
  make_pki "$D/pki"
  local admin_pw op_pw
  admin_pw=$(openssl rand -hex 16); op_pw=$(openssl rand -hex 16)
  printf 'admin %s\ncontract-operator %s\n' "$admin_pw" "$op_pw" > "$D/pki/users"; chmod 600 "$D/pki/users"
  local cluster_id; cluster_id=$($(java_cmd) kafka.tools.StorageTool random-uuid)
  for n in $(nodes_of "$D"); do
    write_config "$D" "$n" "$voters"
    # SCRAM users go into the bootstrap metadata, so every controller gets them.
    # shellcheck disable=SC2046
    $(java_cmd) kafka.tools.StorageTool format -t "$cluster_id" -c "$D/node$n/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pw]" \
      --add-scram "SCRAM-SHA-512=[name=contract-operator,password=$op_pw]" > "$D/node$n/format.log" 2>&1 &
  done
  wait
  for n in $(nodes_of "$D"); do start_node "$D" "$n"; done
  local plain="" secure=""
  for n in $(nodes_of "$D"); do
    read -r p _ s < "$D/node$n/ports"
    plain="$plain${plain:+,}127.0.0.1:$p"; secure="$secure${secure:+,}127.0.0.1:$s"
  done
  echo "$plain" > "$D/bootstrap"
  wait_brokers "$D" "$count" || { stop "$D"; return 1; }
  # The operator's principal gets exactly the ACLs adapters/permissions.py lists.
  "$PY" -m contract_operator.adapters.kafka_acls grant --bootstrap-servers "$plain" \
    --principal User:contract-operator >&2 || { stop "$D"; return 1; }
  cat > "$D/env" <<ENV
export BOOTSTRAP_SERVERS=$plain
export SECURE_BOOTSTRAP_SERVERS=$secure
export SECURE_SASL_USERNAME=contract-operator
export SECURE_SASL_PASSWORD=$op_pw
export SECURE_CA_FILE=$D/pki/ca.crt
export KAFKA_ADMIN_SASL_PASSWORD=$admin_pw
export KAFKA_TESTBED_DIR=$D
ENV
  log "$count broker(s) ready at $plain (SASL_SSL $secure) after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
}

stop() {
  local D=${1:?usage: stop DIR} n
  for n in $(nodes_of "$D"); do stop_node "$D" "$n" & done
  wait
  for n in $(nodes_of "$D"); do rm -rf "$D/node$n"; done
  rm -rf "$D/pki" "$D/bootstrap" "$D/env" "$D/nodes"
}

case "${1:-}" in
  build) build ;;
  start) start "${2:-}" ;;
  stop)  stop "${2:-}" ;;
  stop-node) stop_node "${2:?DIR}" "${3:?N}" ;;
  start-node) start_node "${2:?DIR}" "${3:?N}"; wait_brokers "$2" "$(nodes_of "$2" | wc -l)" ;;
  *) echo "usage: $0 build | start DIR | stop DIR | stop-node DIR N | start-node DIR N" >&2; exit 2 ;;
esac
