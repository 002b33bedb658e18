/**
 * The four ExternalScaler RPCs. Each answers from the registry's memory only; every failure
 * becomes a gRPC status (never a crash, never an unhandled rejection).
 */
import * as grpc from '@grpc/grpc-js';
import { capText, quote } from '../config/fields.js';
import type { Logger } from '../telemetry/logger.js';
import type { ExternalScalerHandlers, IsActiveResponse, ScaledObjectRef } from './contract.js';
import { InvalidRequestError } from './metadata.js';
import { CapacityError, NotReadyError, type ObjectRef, type ScaledObjectRegistry } from './registry.js';

type Stream = grpc.ServerWritableStream<ScaledObjectRef, IsActiveResponse>;

/**
 * Open StreamIsActive calls, so shutdown can end them instead of waiting for clients; at most
 * `limit` at once, holding at most `maxChars` characters of requests together. Each holds a
 * listener and its call, and grpc-js keeps a stream's request for the stream's life: a request may
 * be up to 1 MiB (server.ts MAX_REQUEST_BYTES; KEDA's own connection keys pass through unchecked), so
 * without a budget the most streams could hold GiBs.
 */
export class StreamSet {
  private readonly streams = new Map<Stream, number>();
  private chars = 0;
  constructor(
    readonly limit = DEFAULT_MAX_STREAMS,
    readonly maxChars = streamCharsFor(limit),
  ) {}
  /** Takes `s` in, holding a request of `chars` characters; CapacityError past either bound. */
  admit(s: Stream, chars: number): void {
    if (this.streams.size >= this.limit) throw new CapacityError(`already ${this.streams.size} open StreamIsActive calls (the most at once: twice --max-objects)`);
    if (this.chars + chars > this.maxChars) {
      throw new CapacityError(`the open StreamIsActive calls hold ${this.chars} characters of requests and this one ${chars}: more than the ${this.maxChars} they may hold together`);
    }
    this.streams.set(s, chars);
    this.chars += chars;
  }
  delete(s: Stream): void {
    const chars = this.streams.get(s);
    if (chars === undefined) return;
    this.streams.delete(s);
    this.chars -= chars;
  }
  get size(): number {
    return this.streams.size;
  }
  /** Characters of requests the open streams hold. */
  get heldChars(): number {
    return this.chars;
  }
  endAll(): void {
    for (const s of this.streams.keys()) {
      try {
        s.end();
      } catch {
        // Already closed by the client: nothing left to end.
      }
    }
    this.streams.clear();
    this.chars = 0;
  }
}

/** KEDA opens one stream per external-push trigger; twice the default --max-objects. */
export const DEFAULT_MAX_STREAMS = 10_000;
/**
 * Characters of requests the open streams may hold together: at least 64 Mi, and 4 Ki a stream of
 * the most allowed (KEDA's are well under 1 KB without certificates), so a larger --max-objects
 * does not turn its own streams away.
 */
export const DEFAULT_MAX_STREAM_CHARS = 64 * 1024 * 1024;
export const STREAM_CHARS_EACH = 4096;
export const streamCharsFor = (maxStreams: number): number => Math.max(DEFAULT_MAX_STREAM_CHARS, maxStreams * STREAM_CHARS_EACH);

/** A request's size in characters: its names, and its metadata's keys and values. */
export function requestChars(ref: ScaledObjectRef | null | undefined): number {
  if (!ref) return 0;
  let n = (ref.name?.length ?? 0) + (ref.namespace?.length ?? 0);
  for (const [k, v] of Object.entries(ref.scalerMetadata ?? {})) n += k.length + (typeof v === 'string' ? v.length : 0);
  return n;
}

/**
 * Kubernetes's bounds on a ScaledObject's name (a DNS subdomain) and namespace (a DNS label). Both
 * are kept whole (the trigger's key, every log line, the metrics' labels), unlike the metadata,
 * which is digested: past them a request, up to 1 MiB, would cost that much per trigger.
 */
export const MAX_NAME_LENGTH = 253;
export const MAX_NAMESPACE_LENGTH = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function toRef(ref: ScaledObjectRef | null | undefined, field: string): ObjectRef {
  if (!ref) throw new InvalidRequestError(`${field} is required`);
  if (!ref.name) throw new InvalidRequestError(`${field}.name is required: the ScaledObject's name`);
  if (!ref.namespace) throw new InvalidRequestError(`${field}.namespace is required: the ScaledObject's namespace`);
  // As Kubernetes names them (a DNS subdomain, a DNS label): a '/' let namespace "a" with name
  // "b/c" and namespace "a/b" with name "c" share one object key, its state and its weights.
  if (ref.name.length > MAX_NAME_LENGTH || !DNS_SUBDOMAIN.test(ref.name)) {
    throw new InvalidRequestError(`${field}.name must be a ScaledObject's name (lowercase letters, digits, '-' and '.', at most ${MAX_NAME_LENGTH} characters), got ${quote(ref.name)}`);
  }
  if (ref.namespace.length > MAX_NAMESPACE_LENGTH || !DNS_LABEL.test(ref.namespace)) {
    throw new InvalidRequestError(`${field}.namespace must be a namespace (lowercase letters, digits and '-', at most ${MAX_NAMESPACE_LENGTH} characters), got ${quote(ref.namespace)}`);
  }
  return { namespace: ref.namespace, name: ref.name, metadata: ref.scalerMetadata ?? {} };
}

// Every message is capped (config/fields.ts): a status travels in a trailer, and ~100 KB of them
// make KEDA's client drop the connection its other calls share.
export function toStatus(err: unknown, log: Logger, rpc: string): Partial<grpc.StatusObject> {
  if (err instanceof InvalidRequestError) return { code: grpc.status.INVALID_ARGUMENT, details: capText(err.message) };
  if (err instanceof NotReadyError) return { code: grpc.status.UNAVAILABLE, details: capText(err.message) };
  if (err instanceof CapacityError) return { code: grpc.status.RESOURCE_EXHAUSTED, details: capText(err.message) };
  if (err instanceof UnknownMetricError) return { code: grpc.status.NOT_FOUND, details: capText(err.message) };
  log.error('rpc failed', { rpc, error: err });
  return { code: grpc.status.INTERNAL, details: 'internal error (logged by the scaler)' };
}

/**
 * KEDA reads the float fields only when > 0 and falls back to the int64 ones: fill both. The int
 * is rounded up for the metric (never under-provisions) and down for the target (likewise), and a
 * target is at least 1 so an old KEDA never divides by zero.
 */
export function intMetric(v: number): number {
  return Math.ceil(v - 1e-9);
}
export function intTarget(v: number): number {
  return Math.max(1, Math.floor(v + 1e-9));
}

/**
 * Whether `asked` names the trigger's metric: itself, or with the "s<index>-" prefix KEDA puts on
 * each trigger's metric in the HPA (KEDA strips it before calling; older versions may not).
 */
export function servesMetric(asked: string, own: string): boolean {
  return asked === own || (asked.endsWith(`-${own}`) && /^s\d+$/.test(asked.slice(0, asked.length - own.length - 1)));
}

/**
 * The last gate before a value goes on the wire: finite, >= 0 and at most the trigger's ceiling.
 * The registry already guarantees it; a value that is not is a bug, answered as INTERNAL rather
 * than sent to KEDA.
 */
export function answerable(v: number, maxValue: number): number {
  if (!(Number.isFinite(v) && v >= 0 && v <= maxValue)) throw new Error(`refusing to answer the out-of-bounds value ${v} (maxValue ${maxValue})`);
  return v;
}

/** GetMetrics asked for a metric the trigger does not serve: NOT_FOUND. */
export class UnknownMetricError extends Error {
  override name = 'UnknownMetricError';
}

/** Told about every unary call: its method, status name and duration (metrics). */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

/** Wraps a unary handler's callback so every answer, success or error, is observed once. */
function observed<Res>(method: string, observe: RpcObserver | undefined, callback: grpc.sendUnaryData<Res>): grpc.sendUnaryData<Res> {
  if (!observe) return callback;
  const started = process.hrtime.bigint();
  return (err, value) => {
    const code = err ? (grpc.status[(err as Partial<grpc.StatusObject>).code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN') : 'OK';
    try {
      observe(method, code, Number(process.hrtime.bigint() - started) / 1e9);
    } catch {
      // Metrics must never break an answer.
    }
    callback(err, value);
  };
}

export function createHandlers(registry: ScaledObjectRegistry, streams: StreamSet, log: Logger, observe?: RpcObserver): ExternalScalerHandlers {
  return {
    GetMetricSpec(call, done) {
      const callback = observed('GetMetricSpec', observe, done);
      try {
        const ref = toRef(call.request, 'scaledObjectRef');
        let config;
        // Registering starts the refresh loop early; failing to (registry full, shutting down) must
        // not fail the spec, or the HPA is left without metrics and KEDA's fallback never applies.
        try {
          config = registry.touch(ref).config;
        } catch (err) {
          if (!(err instanceof CapacityError || err instanceof NotReadyError)) throw err;
          log.warn('GetMetricSpec: not registered', { scaledObject: `${ref.namespace}/${ref.name}`, error: err.message });
          config = registry.configOf(ref);
        }
        callback(null, {
          metricSpecs: [{ metricName: config.metricName, targetSize: intTarget(config.targetValue), targetSizeFloat: config.targetValue }],
        });
      } catch (err) {
        callback(toStatus(err, log, 'GetMetricSpec'));
      }
    },

    GetMetrics(call, done) {
      const callback = observed('GetMetrics', observe, done);
      try {
        const ref = toRef(call.request.scaledObjectRef, 'scaledObjectRef');
        // The trigger is its metadata (each of a ScaledObject's triggers sends its own); the metric
        // asked for must be the one its GetMetricSpec named.
        const state = registry.touch(ref);
        const metricName = call.request.metricName || state.config.metricName;
        if (!servesMetric(metricName, state.config.metricName)) {
          throw new UnknownMetricError(`ScaledObject ${ref.namespace}/${ref.name}: this trigger serves metric ${JSON.stringify(state.config.metricName)}, not ${JSON.stringify(metricName.slice(0, 200))}`);
        }
        const value = answerable(registry.metricValue(state), state.config.maxValue);
        callback(null, { metricValues: [{ metricName, metricValue: intMetric(value), metricValueFloat: value }] });
      } catch (err) {
        callback(toStatus(err, log, 'GetMetrics'));
      }
    },

    IsActive(call, done) {
      const callback = observed('IsActive', observe, done);
      try {
        const state = registry.touch(toRef(call.request, 'scaledObjectRef'));
        callback(null, { result: registry.isActive(state) });
      } catch (err) {
        callback(toStatus(err, log, 'IsActive'));
      }
    },

    StreamIsActive(call: Stream) {
      let unsubscribe: (() => void) | null = null;
      let done = false;
      const cleanup = () => {
        if (done) return;
        done = true;
        unsubscribe?.();
        streams.delete(call);
      };
      call.on('cancelled', cleanup);
      call.on('close', cleanup);
      call.on('finish', cleanup);
      call.on('error', cleanup);
      try {
        const ref = toRef(call.request, 'scaledObjectRef');
        streams.admit(call, requestChars(call.request));
        const state = registry.touch(ref);
        unsubscribe = registry.subscribe(
          state,
          (active) => {
            if (!done && !call.cancelled && call.writable) call.write({ result: active });
          },
          (fault) => {
            if (done) return;
            cleanup();
            call.emit('error', toStatus(fault, log, 'StreamIsActive'));
          },
        );
      } catch (err) {
        cleanup();
        call.emit('error', toStatus(err, log, 'StreamIsActive'));
      }
    },
  };
}
