/**
 * KEDA's ExternalScaler contract as loaded from proto/externalscaler.proto, with the message types
 * the handlers use. The .proto file is the source of truth; these types mirror it field by field.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_PATH = fileURLToPath(new URL('../../proto/externalscaler.proto', import.meta.url));

export interface ScaledObjectRef {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}
export interface IsActiveResponse {
  result: boolean;
}
export interface MetricSpec {
  metricName: string;
  /** int64, deprecated by KEDA: filled for older versions. */
  targetSize: number;
  targetSizeFloat: number;
}
export interface GetMetricSpecResponse {
  metricSpecs: MetricSpec[];
}
export interface GetMetricsRequest {
  scaledObjectRef: ScaledObjectRef | null;
  metricName: string;
}
export interface MetricValue {
  metricName: string;
  /** int64, deprecated by KEDA: filled for older versions. */
  metricValue: number;
  metricValueFloat: number;
}
export interface GetMetricsResponse {
  metricValues: MetricValue[];
}

export interface ExternalScalerHandlers extends grpc.UntypedServiceImplementation {
  IsActive: grpc.handleUnaryCall<ScaledObjectRef, IsActiveResponse>;
  StreamIsActive: grpc.handleServerStreamingCall<ScaledObjectRef, IsActiveResponse>;
  GetMetricSpec: grpc.handleUnaryCall<ScaledObjectRef, GetMetricSpecResponse>;
  GetMetrics: grpc.handleUnaryCall<GetMetricsRequest, GetMetricsResponse>;
}

// longs as Number: int64 values here are replica-scale quantities, far below 2^53.
// defaults: absent proto3 fields arrive as their zero values, as KEDA's Go client sends them.
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export interface ExternalScalerPackage {
  service: grpc.ServiceDefinition;
  /** A typed-enough client constructor, for tests, the bench and the `probe` command. */
  Client: grpc.ServiceClientConstructor;
}

let cached: ExternalScalerPackage | undefined;

export function loadExternalScaler(): ExternalScalerPackage {
  if (cached) return cached;
  const definition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    externalscaler: { ExternalScaler: grpc.ServiceClientConstructor };
  };
  const Client = pkg.externalscaler.ExternalScaler;
  cached = { service: Client.service, Client };
  return cached;
}

export const SERVICE_NAME = 'externalscaler.ExternalScaler';
