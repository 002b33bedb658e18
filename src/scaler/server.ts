/**
 * The gRPC server: ExternalScaler plus the standard health service, optional (m)TLS, and a
 * bounded graceful shutdown.
 */
import { MAX_TLS_FILE_BYTES, readFailure, readSmallFile } from '../files/small-file.js';
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { Logger } from '../telemetry/logger.js';
import { loadExternalScaler, SERVICE_NAME } from './contract.js';
import { HealthService, MAX_HEALTH_WATCHES } from './health.js';
import type { ScaledObjectRegistry } from './registry.js';
import { createHandlers, DEFAULT_MAX_STREAMS, StreamSet, type RpcObserver } from './service.js';

export interface TlsFiles {
  /** Server certificate chain (PEM). */
  certFile: string;
  /** Server private key (PEM). */
  keyFile: string;
  /** CA that client certificates must chain to; set → mutual TLS, clients without a cert are refused. */
  clientCaFile?: string;
}

export interface ScalerServerOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  tls?: TlsFiles;
  registry: ScaledObjectRegistry;
  logger: Logger;
  /** Told about every unary call (metrics). */
  observeRpc?: RpcObserver;
  /** Most StreamIsActive calls open at once; more → RESOURCE_EXHAUSTED. Default DEFAULT_MAX_STREAMS. */
  maxStreams?: number;
  /** Most characters of requests the open StreamIsActive calls hold together; more → RESOURCE_EXHAUSTED. Default streamCharsFor(maxStreams). */
  maxStreamChars?: number;
  /** Default SERVER_KEEPALIVE (tests shorten it). */
  keepalive?: Keepalive;
  /** How long a request may take to arrive whole (ms; receiveDeadline). Default REQUEST_RECEIVE_MS (tests shorten it). */
  requestReceiveMs?: number;
}

export interface Keepalive {
  /** A ping on every connection this long after the last one was answered (ms). */
  timeMs: number;
  /** No answer within this (ms): the connection is closed and its calls end. */
  timeoutMs: number;
}

/**
 * The server pings each connection: KEDA on a node lost without a FIN leaves a half-open connection,
 * and TCP alone never notices it (a StreamIsActive writes only when activity changes), so its
 * streams would hold their StreamIsActive places for good. About 80 s to notice one.
 */
export const SERVER_KEEPALIVE: Keepalive = { timeMs: 60_000, timeoutMs: 20_000 };

/**
 * The largest request accepted (bytes); a larger one is refused RESOURCE_EXHAUSTED by grpc-js. grpc-js
 * holds a unary call's request until the client half-closes, so its default (4 MiB) let every call a
 * client opened hold 4 MiB. KEDA's biggest is its own connection keys (caCert, tlsClientCert,
 * tlsClientKey: PEM, a few KiB; a whole CA bundle ~250 KiB); ours are capped far lower (a query at
 * 16 Ki characters, a path at 4 Ki).
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Calls on one connection besides its StreamIsActive and health Watch streams: KEDA's unary calls. */
export const UNARY_STREAMS = 1024;
/**
 * Streams one HTTP/2 connection may have open (grpc.max_concurrent_streams; unlimited otherwise):
 * KEDA opens every StreamIsActive on one connection, so room for all of them, every health Watch and
 * the unary calls. A client past it waits for a place (HTTP/2 flow control), nothing fails.
 */
export const concurrentStreamsFor = (maxStreams: number): number => maxStreams + MAX_HEALTH_WATCHES + UNARY_STREAMS;
/**
 * What Node lets one HTTP/2 session hold (MB: nghttp2's state, header tables, queued writes) before
 * refusing new streams with ENHANCE_YOUR_CALM. grpc-js lifts it to MAX_SAFE_INTEGER unless it is set:
 * a peer that sends headers but never reads its answers could grow it without bound. Sized to hold
 * every stream allowed, 2 KiB each as Node counts them, on top of Node's own default of 10 MB.
 */
export const sessionMemoryFor = (maxStreams: number): number => 10 + Math.ceil((concurrentStreamsFor(maxStreams) * 2048) / 1e6);

/**
 * The grpc.Server options. Only the server's own pings: grpc-js servers ping every connection, with
 * calls or without, and police no client's pings (no too_many_pings GOAWAY; C-core options such as
 * 'grpc.http2.min_ping_interval_without_data_ms' and the channel option
 * 'grpc.keepalive_permit_without_calls' have no effect here). KEDA's client sets no keepalive and
 * answers pings as any HTTP/2 peer must. The health service shares the server, and its limits.
 */
export function serverOptions(keepalive: Keepalive = SERVER_KEEPALIVE, maxStreams = DEFAULT_MAX_STREAMS, requestReceiveMs = REQUEST_RECEIVE_MS): grpc.ServerOptions {
  return {
    'grpc.keepalive_time_ms': keepalive.timeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
    'grpc.enable_channelz': 0,
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_concurrent_streams': concurrentStreamsFor(maxStreams),
    'grpc-node.max_session_memory': sessionMemoryFor(maxStreams),
    interceptors: [receiveDeadline(requestReceiveMs)],
  };
}

/**
 * How long a call's request may take to arrive whole (the client's half-close). Every method here
 * takes one small request; KEDA sends it at once.
 */
export const REQUEST_RECEIVE_MS = 10_000;

/**
 * Ends a call whose request has not arrived whole within `ms` (DEADLINE_EXCEEDED): grpc-js holds a
 * call's request bytes until the client half-closes, with no deadline of its own, so a client that
 * sent near-1 MiB requests and never half-closed held them all (700 calls: 1.5 GiB) for as long as
 * its connection lived.
 */
function resetStream(call: grpc.ServerInterceptingCallInterface): void {
  const stream = (call as unknown as { stream?: { close?: (code: number) => void; closed?: boolean } }).stream;
  if (stream && typeof stream.close === 'function' && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
}

export function receiveDeadline(ms = REQUEST_RECEIVE_MS): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.requestStream) return new grpc.ServerInterceptingCall(call);
    let timer: NodeJS.Timeout | undefined;
    const clear = () => {
      clearTimeout(timer);
      timer = undefined;
    };
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => {
        timer = setTimeout(() => {
          timer = undefined;
          intercepted.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `the request did not arrive whole within ${ms / 1000} s` });
          // The status ends the answer, not the request: the client's half of the stream stays open,
          // and grpc-js keeps what it read of it. Resetting the stream lets that go. grpc-js gives an
          // interceptor no handle on it but its own call's (checked, so a version without it only
          // answers the status).
          resetStream(call);
        }, ms);
        timer.unref();
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveHalfClose((done) => {
              clear();
              done();
            })
            .withOnCancel(clear)
            .build(),
        );
      })
      .withSendStatus((status, next) => {
        clear();
        next(status);
      })
      .build();
    const intercepted = new grpc.ServerInterceptingCall(call, responder);
    return intercepted;
  };
}

export interface ScalerServer {
  readonly port: number;
  readonly health: HealthService;
  /** Health → SERVING for the scaler and the server as a whole (not once a shutdown started). */
  markReady(): void;
  /**
   * Stops accepting calls, ends open streams (StreamIsActive and health Watch, after telling the
   * watchers NOT_SERVING), lets in-flight unary calls finish, and force-closes whatever is left
   * after `timeoutMs`. Resolves once the server is down.
   */
  shutdown(timeoutMs: number): Promise<void>;
  readonly openStreams: number;
  /** True from markReady until a shutdown starts. */
  readonly ready: boolean;
}

export function credentialsFor(tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const read = (file: string, what: string) => {
    try {
      return readSmallFile(file, MAX_TLS_FILE_BYTES);
    } catch (err) {
      throw new Error(`cannot read TLS ${what} ${file}: ${readFailure(err)}`, { cause: err });
    }
  };
  const cert = read(tls.certFile, 'certificate');
  const key = read(tls.keyFile, 'key');
  const ca = tls.clientCaFile ? read(tls.clientCaFile, 'client CA') : null;
  return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}

export async function startScalerServer(opts: ScalerServerOptions): Promise<ScalerServer> {
  const log = opts.logger;
  const { service } = loadExternalScaler();
  const streams = new StreamSet(opts.maxStreams, opts.maxStreamChars);
  const server = new grpc.Server(serverOptions(opts.keepalive, streams.limit, opts.requestReceiveMs));
  server.addService(service, createHandlers(opts.registry, streams, log, opts.observeRpc));
  const health = new HealthService({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  health.addTo(server);

  const credentials = credentialsFor(opts.tls);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.address, credentials, (err, boundPort) => (err ? reject(new Error(`cannot listen on ${opts.address}: ${err.message}`)) : resolve(boundPort)));
  });
  log.info('gRPC server listening', { address: opts.address, port, tls: opts.tls ? (opts.tls.clientCaFile ? 'mutual' : 'server') : 'off' });

  let stopping: Promise<void> | null = null;
  let ready = false;
  return {
    port,
    health,
    get ready() {
      return ready && stopping === null;
    },
    get openStreams() {
      return streams.size;
    },
    markReady() {
      if (stopping) return;
      ready = true;
      health.setStatus('', 'SERVING');
      health.setStatus(SERVICE_NAME, 'SERVING');
    },
    shutdown(timeoutMs: number) {
      stopping ??= new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(SERVICE_NAME, 'NOT_SERVING');
        const openStreams = streams.size;
        const openWatches = health.openWatches;
        const timer = setTimeout(() => {
          log.warn('graceful shutdown timed out; closing remaining calls', { timeoutMs });
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        timer.unref();
        // tryShutdown waits for every call, and a stream only ends when we end it: end them first
        // (the scaler's and the health Watches, which have just been sent NOT_SERVING), so their OK
        // status is on the wire before the sessions close.
        streams.endAll();
        health.endWatches();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
        log.info('gRPC server stopping', { endedStreams: openStreams, endedHealthWatches: openWatches });
      });
      return stopping;
    },
  };
}
