/** Builders for the objects cluster tests create: a workload from a name and an image, and a ConfigMap. */
import type {
  V1ConfigMap,
  V1Container,
  V1DaemonSet,
  V1DaemonSetUpdateStrategy,
  V1Deployment,
  V1DeploymentStrategy,
  V1EnvVar,
  V1PodTemplateSpec,
  V1StatefulSet,
  V1StatefulSetUpdateStrategy,
} from '@kubernetes/client-node';
import { BEHAVIOUR_ENV } from './kubelet.js';

export interface WorkloadOptions {
  namespace?: string;
  /** The single container's image (container "app"); default `<name>:1`. */
  image?: string;
  /** Replaces the single container. */
  containers?: V1Container[];
  /** The single container's memory limit (and request). */
  memory?: string;
  /** The single container's env: a literal, or a ConfigMap key. */
  env?: Record<string, string | { configMap: string; key: string }>;
  /** Sets FAKE_BEHAVIOUR on the single container. */
  behaviour?: string;
  /** Pod (and selector) labels; default { app: name }. */
  labels?: Record<string, string>;
  /** The workload's own annotations. */
  annotations?: Record<string, string>;
  /** Pod template annotations. */
  podAnnotations?: Record<string, string>;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

function template(name: string, o: WorkloadOptions): V1PodTemplateSpec {
  const env: V1EnvVar[] = Object.entries(o.env ?? {}).map(([k, v]) =>
    typeof v === 'string' ? { name: k, value: v } : { name: k, valueFrom: { configMapKeyRef: { name: v.configMap, key: v.key } } },
  );
  if (o.behaviour) env.push({ name: BEHAVIOUR_ENV, value: o.behaviour });
  const container: V1Container = {
    name: 'app',
    image: o.image ?? `${name}:1`,
    ...(env.length > 0 ? { env } : {}),
    ...(o.memory ? { resources: { limits: { memory: o.memory }, requests: { memory: o.memory } } } : {}),
  };
  return {
    metadata: { labels: o.labels ?? { app: name }, ...(o.podAnnotations ? { annotations: o.podAnnotations } : {}) },
    spec: { containers: o.containers ?? [container] },
  };
}

function meta(name: string, o: WorkloadOptions) {
  return { name, namespace: o.namespace ?? 'default', labels: o.labels ?? { app: name }, ...(o.annotations ? { annotations: o.annotations } : {}) };
}

export function deployment(
  name: string,
  o: WorkloadOptions & { replicas?: number; strategy?: V1DeploymentStrategy; paused?: boolean; progressDeadlineSeconds?: number } = {},
): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, o),
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: o.labels ?? { app: name } },
      template: template(name, o),
      ...(o.strategy ? { strategy: o.strategy } : {}),
      ...(o.paused !== undefined ? { paused: o.paused } : {}),
      ...(o.minReadySeconds !== undefined ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
    },
  };
}

export function statefulSet(
  name: string,
  o: WorkloadOptions & { replicas?: number; updateStrategy?: V1StatefulSetUpdateStrategy; podManagementPolicy?: 'OrderedReady' | 'Parallel'; serviceName?: string } = {},
): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(name, o),
    spec: {
      replicas: o.replicas ?? 1,
      serviceName: o.serviceName ?? name,
      selector: { matchLabels: o.labels ?? { app: name } },
      template: template(name, o),
      ...(o.updateStrategy ? { updateStrategy: o.updateStrategy } : {}),
      ...(o.podManagementPolicy ? { podManagementPolicy: o.podManagementPolicy } : {}),
      ...(o.minReadySeconds !== undefined ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
    },
  };
}

export function daemonSet(name: string, o: WorkloadOptions & { updateStrategy?: V1DaemonSetUpdateStrategy } = {}): V1DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(name, o),
    spec: {
      selector: { matchLabels: o.labels ?? { app: name } },
      template: template(name, o),
      ...(o.updateStrategy ? { updateStrategy: o.updateStrategy } : {}),
      ...(o.minReadySeconds !== undefined ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
    },
  };
}

export function configMap(name: string, data: Record<string, string>, namespace = 'default'): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}
