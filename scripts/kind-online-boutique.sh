#!/usr/bin/env bash
# Amadeus scaling Google's Online Boutique on a kind cluster, under the Locust flash-sale shape:
# creates the cluster, installs kube-prometheus-stack (Prometheus + Grafana with the Amadeus
# dashboard), Istio (whose sidecars give the request rates the ScaledObjects forecast) and KEDA,
# builds and loads the Amadeus image, applies keda/overlays/kind-online-boutique, runs the flash sale
# and prints the frontend's replicas every 15 s and Locust's latency at the end.
# Not run in CI (no Docker engine there).
#
# Needs: docker, kind, kubectl, helm, istioctl, git, and Locust (pip install locust, or Debian's
# python3-locust); network for charts and images. Takes ~15 minutes on a laptop.
# Usage: scripts/kind-online-boutique.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-amadeus-boutique}
KEDA_VERSION=${KEDA_VERSION:-2.20.0}
IMAGE=amadeus:e2e
OUT=${OUT:-$(mktemp -d)}
KEEP=${1:-}
for tool in docker kind kubectl helm istioctl git locust; do command -v "$tool" >/dev/null || { echo "kind-online-boutique: $tool is required" >&2; exit 2; }; done

log() { printf '\n== %s\n' "$*"; }
PF_PID=''
cleanup() {
  [[ -n "$PF_PID" ]] && kill "$PF_PID" 2>/dev/null || true
  [[ "$KEEP" == --keep ]] || kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s

log "kube-prometheus-stack (namespace monitoring)"
helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null
helm repo update >/dev/null
# Select every ServiceMonitor/PodMonitor (not only the chart's own), and load dashboards from
# ConfigMaps labelled grafana_dashboard (keda/grafana's).
helm upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack -n monitoring --create-namespace --wait --timeout 10m \
  --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false \
  --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
  --set grafana.sidecar.dashboards.enabled=true --set grafana.sidecar.dashboards.searchNamespace=ALL

log "Istio (minimal profile) and a PodMonitor for its sidecars' metrics"
istioctl install --set profile=minimal -y
kubectl apply -f - <<'YAML'
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: { name: envoy-stats, namespace: monitoring }
spec:
  namespaceSelector: { any: true }
  selector: { matchExpressions: [{ key: security.istio.io/tlsMode, operator: Exists }] }
  podMetricsEndpoints:
    - path: /stats/prometheus
      interval: 15s
      relabelings:
        - action: keep
          sourceLabels: [__meta_kubernetes_pod_container_name]
          regex: istio-proxy
        - action: replace
          sourceLabels: [__meta_kubernetes_pod_ip]
          regex: (.+)
          targetLabel: __address__
          replacement: $1:15090
YAML

log "KEDA $KEDA_VERSION"
kubectl apply --server-side -f "https://github.com/kedacore/keda/releases/download/v${KEDA_VERSION}/keda-${KEDA_VERSION}.yaml"
kubectl -n keda rollout status deploy/keda-operator --timeout=180s

log "image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

log "Online Boutique + Amadeus (keda/overlays/kind-online-boutique: its weights claim ReadWriteOnce, as kind offers no ReadWriteMany)"
kubectl apply -k keda/overlays/kind-online-boutique
kubectl -n amadeus set image deploy/amadeus amadeus="$IMAGE"
kubectl -n amadeus patch deploy amadeus --type=json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"Never"}]'
# Locust below is the load: Online Boutique's own generator would blur it.
kubectl -n online-boutique scale deploy loadgenerator --replicas=0 2>/dev/null || true
kubectl -n amadeus rollout status deploy/amadeus --timeout=300s
for d in $(kubectl -n online-boutique get deploy -o name); do kubectl -n online-boutique rollout status "$d" --timeout=600s; done

log "flash sale (scripts/locust, shape flash-sale) against the frontend"
kubectl -n online-boutique port-forward svc/frontend 8089:80 >/dev/null 2>&1 &
PF_PID=$!
sleep 3
# A quiet warm-up first, so Amadeus has an hour... of a compressed kind: the forecaster starts
# from its pre-trained weights and the live gate picks the best model as minutes come due.
export AMADEUS_SHAPE=flash-sale BASE_USERS=${BASE_USERS:-40} FLASH_MULTIPLIER=${FLASH_MULTIPLIER:-3} \
  FLASH_START_SECONDS=${FLASH_START_SECONDS:-600} FLASH_DURATION_SECONDS=${FLASH_DURATION_SECONDS:-600} FLASH_TOTAL_SECONDS=${FLASH_TOTAL_SECONDS:-1500}
locust -f scripts/locust/locustfile.py --headless --host http://127.0.0.1:8089 --csv "$OUT/locust" --only-summary >"$OUT/locust.log" 2>&1 &
LOCUST_PID=$!
printf '%-8s %-10s %-10s %s\n' elapsed replicas ready "amadeus plan reason"
start=$SECONDS
while kill -0 "$LOCUST_PID" 2>/dev/null; do
  replicas=$(kubectl -n online-boutique get deploy frontend -o 'jsonpath={.spec.replicas}')
  ready=$(kubectl -n online-boutique get deploy frontend -o 'jsonpath={.status.readyReplicas}')
  reason=$(kubectl -n amadeus logs deploy/amadeus --since=30s 2>/dev/null | grep '"scaledObject":"online-boutique/frontend"' | tail -1 | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
  printf '%-8s %-10s %-10s %s\n' "$((SECONDS - start))s" "$replicas" "${ready:-0}" "${reason:--}"
  sleep 15
done
wait "$LOCUST_PID" || true

log "latency seen by the shoppers (Locust, ms)"
# Locust's stats CSV: Type,Name,Request Count,Failure Count,Median,Average,Min,Max,…,95%,…
awk -F, 'NR==1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
         { printf "%-24s requests %-7s failures %-5s median %-6s p95 %-6s p99 %s\n", $col["Name"], $col["Request Count"], $col["Failure Count"], $col["Median Response Time"], $col["95%"], $col["99%"] }' "$OUT/locust_stats.csv"
echo
echo "Grafana: kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80 (dashboard: Amadeus); files in $OUT"
