/**
 * A loopback stand-in for Prometheus's range-query API that misbehaves on demand, per request:
 * answers every minute of the range with a value (or with the lies a broken exporter or recording
 * rule tells: -5, NaN, 1e308), or with a series that stopped (its newest minutes missing), or partly
 * (an undercount with a warning, as Thanos answers when a store is missing), or refuses (resets the connection), hangs, trickles a byte every
 * half second, fails with HTTP 500, sends garbage, or streams an answer of hundreds of megabytes.
 * For the fault tests and the fault-soak benchmark.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** 200 with one series: `value` at every minute of the range (a string is sent as is: "NaN", "-5"). */
  | { kind: 'healthy'; value: number | string }
  /** Like healthy, but the newest point of the range carries `newest` (the value of a lying source). */
  | { kind: 'lies'; value: number | string; newest: string }
  /** Like healthy, but the newest `missing` points of the range are absent: a series that stopped (scrapes failing, the metric gone). */
  | { kind: 'stopped'; value: number; missing: number }
  /** Like healthy, with `warning` in the answer's `warnings`: a partial response (a store or shard missing), `value` its undercount. */
  | { kind: 'partial'; value: number; warning: string }
  /**
   * Like healthy, but a second series (another pod's) has points for the minutes `from`–`to` (epoch
   * seconds) inside the range: a query that is not aggregated, during a rolling update's overlap.
   */
  | { kind: 'overlap'; value: number; from: number; to: number }
  /** The connection is reset as soon as the request arrives: no status, no byte. */
  | { kind: 'refuse' }
  /** Headers never come. */
  | { kind: 'hang' }
  /** Headers and the start of a matrix at once, then one byte every `everyMs` (default 500), forever. */
  | { kind: 'trickle'; everyMs?: number }
  /** HTTP 500 with Prometheus's error body (`errorType`, `error`: the stand-in's own unless given). */
  | { kind: 'error500'; errorType?: string; error?: string }
  /** 200, JSON content type, a body that is no JSON at all. */
  | { kind: 'garbage' }
  /** 200 with a well-formed matrix of `bytes` bytes (default 400 MB), streamed as the client reads. */
  | { kind: 'huge'; bytes?: number };

export interface RangeRequest {
  query: string;
  /** Epoch seconds of the first and last evaluation. */
  start: number;
  end: number;
  step: number;
}

export interface FaultPrometheus {
  url: string;
  /** Range queries received so far. */
  requests: number;
  /** What the server is doing to each request; change it at any time. */
  behaviour: (req: RangeRequest) => Fault;
  /** Bytes written for `huge` answers so far (they stop when the client hangs up). */
  hugeBytesSent: number;
  close(): Promise<void>;
}

const HUGE_CHUNK_POINTS = 4096;

export async function startFaultPrometheus(behaviour: (req: RangeRequest) => Fault): Promise<FaultPrometheus> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state: FaultPrometheus = {
    url: '',
    requests: 0,
    behaviour,
    hugeBytesSent: 0,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://stand-in');
    if (u.pathname !== '/api/v1/query_range') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    state.requests++;
    const range: RangeRequest = {
      query: u.searchParams.get('query') ?? '',
      start: Number(u.searchParams.get('start')),
      end: Number(u.searchParams.get('end')),
      step: Number(u.searchParams.get('step')) || 60,
    };
    const fault = state.behaviour(range);
    switch (fault.kind) {
      case 'healthy':
      case 'lies':
      case 'stopped':
      case 'partial':
      case 'overlap': {
        const values: [number, string][] = [];
        const last = fault.kind === 'stopped' ? range.end - fault.missing * range.step : range.end;
        for (let t = range.start; t <= last; t += range.step) values.push([t, String(fault.value)]);
        if (fault.kind === 'lies' && values.length > 0) values[values.length - 1]![1] = fault.newest;
        res.writeHead(200, { 'content-type': 'application/json' });
        // A series with no point in the range is not in the answer at all, as Prometheus leaves it out.
        const result: { metric: Record<string, string>; values: [number, string][] }[] = values.length > 0 ? [{ metric: {}, values }] : [];
        if (fault.kind === 'overlap') {
          const other = values.filter(([t]) => t >= fault.from && t <= fault.to);
          if (other.length > 0) result.push({ metric: { pod: 'other' }, values: other });
        }
        const warnings = fault.kind === 'partial' ? { warnings: [fault.warning] } : {};
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result }, ...warnings }));
        return;
      }
      case 'refuse':
        req.socket.destroy();
        return;
      case 'hang':
        return;
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"status":"success","data":{"resultType":"matrix","result":[');
        const timer = setInterval(() => {
          if (res.destroyed || res.writableEnded) {
            clearInterval(timer);
            timers.delete(timer);
            return;
          }
          res.write(' ');
        }, fault.everyMs ?? 500);
        timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      case 'error500':
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'error', errorType: fault.errorType ?? 'internal', error: fault.error ?? 'stand-in: internal error' }));
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('\u0000\u00ff<<not json>> {"status": ');
        return;
      case 'huge':
        return streamHuge(res, fault.bytes ?? 400 * 1024 * 1024, range.end, (n) => (state.hugeBytesSent += n));
    }
  };

  const server = http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A valid matrix answer of about `bytes` bytes, written as fast as the client reads it and no faster. */
function streamHuge(res: ServerResponse, bytes: number, t: number, sent: (n: number) => void): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const head = '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[';
  const chunk = Buffer.from(`[${t},"1"],`.repeat(HUGE_CHUNK_POINTS));
  let written = 0;
  const write = () => {
    while (!res.destroyed && written < bytes) {
      written += chunk.length;
      sent(chunk.length);
      if (!res.write(chunk)) return void res.once('drain', write);
    }
    if (!res.destroyed) res.end(`[${t},"1"]]}]}}`);
  };
  res.write(head);
  write();
}
