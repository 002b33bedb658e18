/**
 * The standard grpc.health.v1 service (Check, Watch, List), as grpc-health-check's own
 * implementation answers it, with one difference: it knows its open Watch streams, so a shutdown
 * ends them. grpc-js's tryShutdown waits for every call to finish, and a Watch only ends when the
 * server ends it; left open, one watching client (a mesh sidecar, grpc-health-probe --watch)
 * held every graceful shutdown to its full timeout. And it bounds them, as StreamIsActive is
 * bounded: each open Watch holds a call, its buffers and a place in every status change, and a
 * client that opened them in a loop had no limit.
 */
import type * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WatchCall = grpc.ServerWritableStream<{ service: string }, { status: string }>;

// grpc-health-check answers at most this many services in List, as the gRPC spec suggests.
const LIST_LIMIT = 100;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;

/**
 * The longest service name asked about. Ours are a few dozen characters; a Watch keeps its name for
 * the stream's life (and the 256 Watches could each hold up to a 1 MiB request). A longer one is
 * INVALID_ARGUMENT, not the protocol's NOT_FOUND (Check) or SERVICE_UNKNOWN-and-wait (Watch): those
 * say a service may yet be registered, and no service this long ever will be; the client is misconfigured.
 */
export const MAX_SERVICE_NAME = 256;
const tooLong = (service: string) => ({
  code: INVALID_ARGUMENT,
  details: `the service name is ${service.length} characters long; a service's name is at most ${MAX_SERVICE_NAME}`,
});

/**
 * The most health Watch streams open at once; one more is answered RESOURCE_EXHAUSTED. Watchers
 * are a kubelet, a mesh sidecar or a load balancer per pod, a few at most: 256 leaves ample room.
 */
export const MAX_HEALTH_WATCHES = 256;

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  /** Open Watch calls and the service each watches. */
  private readonly watches = new Map<WatchCall, string>();

  constructor(
    initial: Record<string, ServingStatus>,
    private readonly maxWatches = MAX_HEALTH_WATCHES,
  ) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  status(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const [call, watched] of this.watches) if (watched === service) this.send(call, status);
  }

  /** Ends every open Watch (OK status: the client sees the stream finish, not fail). Returns how many. */
  endWatches(): number {
    const calls = [...this.watches.keys()];
    this.watches.clear();
    for (const call of calls) {
      try {
        call.end();
      } catch {
        // Already closed by the client.
      }
    }
    return calls.length;
  }

  addTo(server: grpc.Server): void {
    server.addService(healthService as unknown as grpc.ServiceDefinition, {
      check: (call: grpc.ServerUnaryCall<{ service: string }, { status: string }>, callback: grpc.sendUnaryData<{ status: string }>) => {
        const service = call.request.service;
        if (service.length > MAX_SERVICE_NAME) return callback(tooLong(service));
        const status = this.statuses.get(service);
        if (status) callback(null, { status });
        else callback({ code: NOT_FOUND, details: 'health status unknown for that service' });
      },
      watch: (call: WatchCall) => {
        const service = call.request.service;
        if (service.length > MAX_SERVICE_NAME) {
          call.emit('error', tooLong(service));
          return;
        }
        if (this.watches.size >= this.maxWatches) {
          call.emit('error', {
            code: RESOURCE_EXHAUSTED,
            details: `already ${this.watches.size} open health Watch streams (the most at once: ${this.maxWatches}); use Check, or end a Watch`,
          });
          return;
        }
        // Whichever way the stream ends (the client cancels, the server ends it, an error), its slot is freed.
        const drop = () => this.watches.delete(call);
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('finish', drop);
        call.on('error', drop);
        this.watches.set(call, service);
        this.send(call, this.statuses.get(service) ?? 'SERVICE_UNKNOWN');
      },
      list: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
        if (this.statuses.size > LIST_LIMIT) {
          callback({ code: RESOURCE_EXHAUSTED, details: 'Too many services to list.' });
          return;
        }
        callback(null, { statuses: Object.fromEntries([...this.statuses].map(([service, status]) => [service, { status }])) });
      },
    });
  }

  private send(call: WatchCall, status: string): void {
    if (call.cancelled || !call.writable) return;
    call.write({ status });
  }
}
