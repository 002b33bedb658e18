/**
 * A typed ExternalScaler client, calling Amadeus exactly as KEDA does. Used by the tests, the
 * serving benchmark and anyone checking a deployment by hand.
 */
import * as grpc from '@grpc/grpc-js';
import type { GetMetricSpecResponse, GetMetricsResponse, IsActiveResponse, ScaledObjectRef } from './contract.js';
import { loadExternalScaler } from './contract.js';

export interface ScalerClient {
  getMetricSpec(ref: ScaledObjectRef): Promise<GetMetricSpecResponse>;
  getMetrics(ref: ScaledObjectRef, metricName: string): Promise<GetMetricsResponse>;
  isActive(ref: ScaledObjectRef): Promise<IsActiveResponse>;
  streamIsActive(ref: ScaledObjectRef): grpc.ClientReadableStream<IsActiveResponse>;
  readonly raw: grpc.Client;
  close(): void;
}

type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

interface RawClient extends grpc.Client {
  GetMetricSpec: Unary<ScaledObjectRef, GetMetricSpecResponse>;
  GetMetrics: Unary<{ scaledObjectRef: ScaledObjectRef; metricName: string }, GetMetricsResponse>;
  IsActive: Unary<ScaledObjectRef, IsActiveResponse>;
  StreamIsActive(req: ScaledObjectRef): grpc.ClientReadableStream<IsActiveResponse>;
}

export interface ScalerClientOptions {
  /**
   * The deadline of each unary call, in milliseconds from its start: past it the call fails with
   * DEADLINE_EXCEEDED instead of waiting on a server that accepted and never answers. Unset: no
   * deadline (the tests' and benchmarks' own timeouts bound them). Streams have none: they are
   * meant to stay open.
   */
  callTimeoutMs?: number;
}

function call<Req, Res>(fn: Unary<Req, Res>, self: grpc.Client, req: Req, timeoutMs: number | undefined): Promise<Res> {
  const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
  return new Promise((resolve, reject) => fn.call(self, req, new grpc.Metadata(), options, (err, res) => (err ? reject(err) : resolve(res))));
}

/**
 * grpc-js (1.14) starts a call on the wire a microtask after it is made and does not check whether
 * it was cancelled meanwhile: a stream cancelled in the tick it was opened goes out with no
 * RST_STREAM, and the server holds it (and its trigger's subscription) until the connection closes.
 * Cancelling again once that microtask has run resets it; on a call already ended it does nothing.
 */
export function resetOnCancel<T extends grpc.ClientReadableStream<unknown>>(call: T): T {
  const cancel = call.cancel.bind(call);
  call.cancel = () => {
    cancel();
    setImmediate(cancel);
  };
  return call;
}

export function createScalerClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
  { callTimeoutMs }: ScalerClientOptions = {},
): ScalerClient {
  const { Client } = loadExternalScaler();
  const raw = new Client(address, credentials, options) as unknown as RawClient;
  return {
    raw,
    getMetricSpec: (ref) => call(raw.GetMetricSpec, raw, ref, callTimeoutMs),
    getMetrics: (ref, metricName) => call(raw.GetMetrics, raw, { scaledObjectRef: ref, metricName }, callTimeoutMs),
    isActive: (ref) => call(raw.IsActive, raw, ref, callTimeoutMs),
    streamIsActive: (ref) => resetOnCancel(raw.StreamIsActive(ref)),
    close: () => raw.close(),
  };
}
