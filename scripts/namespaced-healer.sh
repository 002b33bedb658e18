#!/usr/bin/env bash
# Writes the kustomize component that limits the healer to some namespaces, with permissions in
# those namespaces only: it deletes keda/base's ClusterRole/ClusterRoleBinding amadeus-healer, adds
# a Role + RoleBinding amadeus-healer in each namespace, and sets AMADEUS_HEAL_NAMESPACES to them.
#
# Usage: scripts/namespaced-healer.sh [-o DIR] NAMESPACE...
#   DIR defaults to keda/components/namespaced-healer (shipped as this script's output for
#   online-boutique; src/integration/healer-rbac.test.ts checks the two agree). Only the component's five
#   files are written. Then, in an overlay of keda/base:  components: [<path to DIR>]
#
# The rules are keda/base/rbac.yaml's ClusterRole's but for nodes (cluster-scoped: a Role cannot
# grant them, so --heal-node-fit's raises go unchecked here): change them together (the test compares them).
set -euo pipefail

out="$(cd "$(dirname "$0")/.." && pwd)/keda/components/namespaced-healer"
if [[ ${1:-} == -o ]]; then
  [[ $# -ge 2 ]] || { echo "namespaced-healer: -o needs a directory" >&2; exit 2; }
  out=$2
  shift 2
fi
[[ $# -ge 1 ]] || { echo "usage: scripts/namespaced-healer.sh [-o DIR] NAMESPACE..." >&2; exit 2; }

declare -A seen=()
for ns in "$@"; do
  if [[ ! $ns =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ || ${#ns} -gt 63 ]]; then
    echo "namespaced-healer: '$ns' is not a namespace name" >&2
    exit 2
  fi
  # The healer never touches kube-system: no reason to grant anything there.
  [[ $ns != kube-system ]] || { echo "namespaced-healer: kube-system is never healed" >&2; exit 2; }
  [[ -z ${seen[$ns]:-} ]] || { echo "namespaced-healer: '$ns' given twice" >&2; exit 2; }
  seen[$ns]=1
done
list=$(IFS=,; echo "$*")
# Namespaces are quoted in the YAML: kubectl reads an unquoted on, no, y... as a boolean.
header="# Written by scripts/namespaced-healer.sh $*: run it again to change the namespaces."

mkdir -p "$out"

cat >"$out/kustomization.yaml" <<EOF
$header
#
# Healing limited to these namespaces, with permissions in them only: the base's cluster-wide
# ClusterRole/ClusterRoleBinding amadeus-healer are deleted, each namespace gets a Role +
# RoleBinding amadeus-healer (roles.yaml), and AMADEUS_HEAL_NAMESPACES names the same list. Use it
# from an overlay of keda/base (which must not set \`namespace:\`, as that would move the Roles):
#   components:
#     - <path to this directory>
# The base's Lease Role in namespace amadeus (the healer's leader election, and each replica's
# membership Lease) stays as the base has it: replicas still find each other.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - roles.yaml
patches:
  # One deletion per file: two \`\$patch: delete\` documents in one file crash kustomize 5.5.
  - path: delete-clusterrole.yaml
  - path: delete-clusterrolebinding.yaml
  - path: heal-namespaces.yaml
EOF

cat >"$out/delete-clusterrole.yaml" <<EOF
$header
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: amadeus-healer
\$patch: delete
EOF

cat >"$out/delete-clusterrolebinding.yaml" <<EOF
$header
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: amadeus-healer
\$patch: delete
EOF

cat >"$out/heal-namespaces.yaml" <<EOF
$header
# The healer watches and heals these namespaces only (each watched on its own, never cluster-wide).
apiVersion: v1
kind: ConfigMap
metadata:
  name: amadeus-config
  namespace: amadeus
data:
  AMADEUS_HEAL_NAMESPACES: "$list"
EOF

{
  echo "$header"
  echo "# The base ClusterRole's rules, granted in each namespace alone. \"namespaces: get\" in a Role"
  echo "# allows reading that namespace only (its dry-run annotation): the API server authorizes"
  echo "# GET /api/v1/namespaces/NAME in namespace NAME. Nothing here is cluster-wide: not the base's"
  echo "# \"nodes: list\" either, so --heal-node-fit cannot read the nodes' room (its raises go unchecked)."
  sep=''
  for ns in "$@"; do
    printf '%s' "$sep"
    sep=$'---\n'
    cat <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: amadeus-healer
  namespace: "$ns"
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["list", "watch", "delete"]
  - apiGroups: [""]
    resources: ["pods/log"]
    verbs: ["get"]
  - apiGroups: [""]
    resources: ["events"]
    verbs: ["create"]
  - apiGroups: [""]
    resources: ["namespaces"]
    verbs: ["get"]
  - apiGroups: [""]
    resources: ["limitranges", "resourcequotas"]
    verbs: ["list"]
  - apiGroups: ["apps"]
    resources: ["deployments", "statefulsets"]
    verbs: ["get", "list", "patch"]
  - apiGroups: ["apps"]
    resources: ["daemonsets"]
    verbs: ["get", "patch"]
  - apiGroups: ["apps"]
    resources: ["replicasets", "controllerrevisions"]
    verbs: ["get", "list", "patch"]
  - apiGroups: ["autoscaling.k8s.io"]
    resources: ["verticalpodautoscalers"]
    verbs: ["list"]
  - apiGroups: ["batch"]
    resources: ["jobs", "cronjobs"]
    verbs: ["get"]
  - apiGroups: ["argoproj.io"]
    resources: ["rollouts"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: amadeus-healer
  namespace: "$ns"
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: amadeus-healer
subjects:
  - kind: ServiceAccount
    name: amadeus
    namespace: amadeus
EOF
  done
} >"$out/roles.yaml"

echo "namespaced-healer: wrote $out for namespaces $list"
