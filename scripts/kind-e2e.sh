#!/usr/bin/env bash
# The whole stack on a real cluster, for those who have Docker: a kind cluster, KEDA, Amadeus (built
# from this repo), a workload that gets OOM-killed and one whose new release crash-loops. Checks
# that both replicas join the replica set (a Lease each) on one shared weights volume, and that
# Amadeus raises the first one's memory limit and rolls the second back to its known-good
# revision, with an Event for each. Not run in CI (no Docker engine there).
#
# Needs: docker, kind, kubectl; network for the KEDA manifest and the images.
# Usage: scripts/kind-e2e.sh [--keep]   (--keep leaves the cluster running for a look around)
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-amadeus-e2e}
KEDA_VERSION=${KEDA_VERSION:-2.20.0}
IMAGE=amadeus:e2e
KEEP=${1:-}
for tool in docker kind kubectl; do command -v "$tool" >/dev/null || { echo "kind-e2e: $tool is required" >&2; exit 2; }; done
# The overlay must build with this kubectl's kustomize before minutes go into the cluster and image.
kubectl kustomize keda/overlays/kind >/dev/null || { echo "kind-e2e: keda/overlays/kind does not build with this kubectl" >&2; exit 2; }

log() { printf '\n== %s\n' "$*"; }
# Polls `kubectl ... -o jsonpath` until it prints the expected value (or times out).
wait_for() {
  local what=$1 expected=$2 timeout=$3; shift 3
  local deadline=$((SECONDS + timeout)) got=''
  while ((SECONDS < deadline)); do
    got=$(kubectl "$@" 2>/dev/null || true)
    [[ "$got" == "$expected" ]] && { echo "ok: $what = $got"; return 0; }
    sleep 3
  done
  echo "FAILED: $what: expected '$expected', got '$got'" >&2
  kubectl -n amadeus logs deploy/amadeus --tail=50 >&2 || true
  return 1
}
cleanup() { [[ "$KEEP" == --keep ]] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; }
trap cleanup EXIT

log "cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s

log "image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

log "KEDA $KEDA_VERSION"
kubectl apply --server-side -f "https://github.com/kedacore/keda/releases/download/v${KEDA_VERSION}/keda-${KEDA_VERSION}.yaml"
kubectl -n keda rollout status deploy/keda-operator --timeout=180s

log "Amadeus (keda/overlays/kind: the base with its RBAC, two replicas, healing on in namespace e2e)"
kubectl apply -k keda/overlays/kind
kubectl -n amadeus rollout status deploy/amadeus --timeout=300s
# The replica model's Kubernetes side: the weights claim bound (ReadWriteOnce on kind's one node, both
# pods mounting it), and each replica holding its own Lease, which needs the Role's create and list.
wait_for "weights claim" Bound 60 -n amadeus get pvc amadeus-weights -o 'jsonpath={.status.phase}'
wait_for "replica Leases" 2 60 -n amadeus get leases -l amadeus.io/replica-set=amadeus -o 'go-template={{len .items}}'

log "workloads in namespace e2e"
kubectl create namespace e2e --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f - <<'YAML'
# Allocates 150 MiB under a 100 MiB limit: OOM-killed until Amadeus raises the limit to 200Mi.
apiVersion: apps/v1
kind: Deployment
metadata: { name: hungry, namespace: e2e, annotations: { amadeus.io/heal: "true" } }
spec:
  replicas: 1
  selector: { matchLabels: { app: hungry } }
  template:
    metadata: { labels: { app: hungry } }
    spec:
      containers:
        - name: app
          image: python:3.12-alpine
          command: [python, -c, "import time; b = bytearray(150 * 1024 * 1024); time.sleep(86400)"]
          resources: { limits: { memory: 100Mi }, requests: { memory: 64Mi } }
---
# Release 1 is healthy; release 2 (applied below) ships a bad image — one without the shell the
# command needs — so every start fails: a crash loop. (An image that cannot be pulled at all is
# ImagePullBackOff, not a crash loop, and is not the healer's to fix.)
apiVersion: apps/v1
kind: Deployment
metadata: { name: release, namespace: e2e, annotations: { amadeus.io/heal: "true" } }
spec:
  replicas: 1
  selector: { matchLabels: { app: release } }
  template:
    metadata: { labels: { app: release }, annotations: { kubernetes.io/change-cause: release 1 } }
    spec:
      containers:
        - name: app
          image: busybox:1.36
          command: [sh, -c, "echo release 1 up; sleep 86400"]
---
# No query (this cluster has no Prometheus): the overlay's AMADEUS_REPLAY serves it synthetic load.
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: release, namespace: e2e }
spec:
  scaleTargetRef: { name: release }
  minReplicaCount: 1
  maxReplicaCount: 5
  triggers:
    - type: external
      metadata: { scalerAddress: amadeus.amadeus.svc.cluster.local:6000, targetValue: "50", metricName: predicted_load }
YAML

log "OOMKilled → memory limit raised"
wait_for "hungry memory limit" 200Mi 300 -n e2e get deploy hungry -o 'jsonpath={.spec.template.spec.containers[0].resources.limits.memory}'
wait_for "MemoryLimitRaised event" MemoryLimitRaised 60 -n e2e get events --field-selector involvedObject.name=hungry,reason=MemoryLimitRaised -o 'jsonpath={.items[0].reason}'

log "release 1 becomes known-good, release 2 crash-loops → rolled back"
kubectl -n e2e rollout status deploy/release --timeout=120s
wait_for "release 1 known-good" true 180 -n e2e get rs -l app=release -o 'jsonpath={.items[0].metadata.annotations.amadeus\.io/known-good}'
kubectl -n e2e patch deploy release --type=strategic -p \
  '{"spec":{"template":{"metadata":{"annotations":{"kubernetes.io/change-cause":"release 2"}},"spec":{"containers":[{"name":"app","image":"hello-world:latest"}]}}}}'
wait_for "release rolled back to release 1" "release 1" 420 -n e2e get deploy release -o 'jsonpath={.spec.template.metadata.annotations.kubernetes\.io/change-cause}'
wait_for "RolledBack event" RolledBack 60 -n e2e get events --field-selector involvedObject.name=release,reason=RolledBack -o 'jsonpath={.items[0].reason}'

log "KEDA reads Amadeus's predicted load"
wait_for "ScaledObject ready" True 180 -n e2e get scaledobject release -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'

log "all checks passed"
