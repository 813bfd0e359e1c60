#!/usr/bin/env bash
# kind-e2e.sh — contract-operator end to end on a local kind cluster (needs Docker, kind,
# kubectl and helm; the CI testbed has no Docker and uses hack/testbed.sh instead).
#
#   hack/kind-e2e.sh          cluster + image + single-node Redpanda + chart + examples
#   hack/kind-e2e.sh down     delete the kind cluster
#
# Env: CLUSTER (kind cluster name; default contract-operator),
#      BOOTSTRAP_SERVERS (use your own broker, reachable from the cluster, instead of Redpanda),
#      REDPANDA_IMAGE (default redpandadata/redpanda:v24.2.7).
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER=${CLUSTER:-contract-operator}
IMAGE=contract-operator:e2e
REDPANDA_IMAGE=${REDPANDA_IMAGE:-redpandadata/redpanda:v24.2.7}
log() { echo "[kind-e2e] $*" >&2; }

if [ "${1:-}" = down ]; then kind delete cluster --name "$CLUSTER"; exit 0; fi

kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER"
kubectl config use-context "kind-$CLUSTER" >/dev/null

log "building $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

if [ -z "${BOOTSTRAP_SERVERS:-}" ]; then
  log "deploying a single-node Redpanda ($REDPANDA_IMAGE)"
  kubectl create namespace redpanda --dry-run=client -o yaml | kubectl apply -f -
  kubectl apply -n redpanda -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: redpanda}
spec:
  replicas: 1
  selector: {matchLabels: {app: redpanda}}
  template:
    metadata: {labels: {app: redpanda}}
    spec:
      containers:
        - name: redpanda
          image: $REDPANDA_IMAGE
          args: [redpanda, start, --mode, dev-container, --smp, "1", --memory, 1G,
                 --kafka-addr, "PLAINTEXT://0.0.0.0:9092",
                 --advertise-kafka-addr, "PLAINTEXT://redpanda.redpanda.svc.cluster.local:9092"]
          ports: [{name: kafka, containerPort: 9092}]
          readinessProbe: {tcpSocket: {port: kafka}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: redpanda}
spec:
  selector: {app: redpanda}
  ports: [{name: kafka, port: 9092, targetPort: kafka}]
EOF
  kubectl rollout status -n redpanda deploy/redpanda --timeout=180s
  BOOTSTRAP_SERVERS=redpanda.redpanda.svc.cluster.local:9092
fi

log "installing the chart (broker: $BOOTSTRAP_SERVERS)"
helm upgrade --install contract-operator helm/contract-operator \
  --namespace contract-operator --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE#*:}" \
  --set broker.bootstrapServers="$BOOTSTRAP_SERVERS" \
  --wait --timeout 3m

# The examples name their own namespaces; create those first.
for ns in $(grep -ohE 'namespace: *[a-z0-9-]+' examples/nodecontracts/*.yaml | awk '{print $2}' | sort -u); do
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
done
kubectl apply -f examples/nodecontracts/
kubectl wait nodecontracts --all --all-namespaces --for=condition=Ready --timeout=120s ||
  log "not every contract is Ready; the Reason column says why"
kubectl get nodecontracts --all-namespaces -o wide
