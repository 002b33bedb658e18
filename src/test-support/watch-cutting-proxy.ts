/**
 * An HTTP proxy on loopback between a client and the fake API server, which can break the pod
 * watches as a proxy or an API server in trouble does: while cut, every pod watch is answered 200
 * and ended at once, empty — a clean end, as a watch's timeout gives, only immediate — and the pod
 * watches open when the cut began are ended cleanly too. Everything else (lists, gets, writes,
 * other watches) passes through untouched, cut or not. It counts the pod watch requests it got.
 *
 *   const proxy = await startWatchCuttingProxy(w.kube);
 *   await w.start({ clients: makeClients(proxy.kubeConfig()) });
 *   proxy.cut(); ... proxy.heal();
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { FakeKube } from './fake-kube.js';

export interface ProxiedWatch {
  path: string;
  /** Ended at once by the proxy (during a cut), or passed through. */
  cut: boolean;
}

export interface WatchCuttingProxy {
  readonly url: string;
  /** The fake API server's kubeconfig (its user and token), its server this proxy. */
  kubeConfig(): KubeConfig;
  /** Every pod watch request the proxy got, in order. */
  readonly watches: ProxiedWatch[];
  /** Pod watch streams passed through and open now. */
  openWatches(): number;
  /** From now on every pod watch ends as soon as it is opened; the open ones are ended now. */
  cut(): void;
  /** Pod watches pass through again. */
  heal(): void;
  close(): Promise<void>;
}

const isPodWatch = (url: URL): boolean => /\/pods$/.test(url.pathname) && ['true', '1'].includes(url.searchParams.get('watch') ?? '');

export async function startWatchCuttingProxy(upstream: FakeKube): Promise<WatchCuttingProxy> {
  const target = new URL(upstream.url);
  const watches: ProxiedWatch[] = [];
  /** Ends each open passed-through pod watch cleanly. */
  const open = new Set<() => void>();
  let cutting = false;

  const pass = (req: IncomingMessage, res: ServerResponse, watch: boolean) => {
    const up = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } });
    up.on('error', () => res.destroy());
    up.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      // The upstream answer broken off: so is this one (unless it was ended on purpose first).
      answer.on('error', () => void (res.writableEnded || res.destroy()));
      answer.on('close', () => void (answer.complete || res.writableEnded || res.destroy()));
      if (watch) {
        const end = () => {
          answer.unpipe(res);
          res.end();
          up.destroy();
        };
        open.add(end);
        res.on('close', () => open.delete(end));
      }
      answer.pipe(res);
    });
    // The client went away: so does the upstream request.
    res.on('close', () => void (res.writableFinished || up.destroy()));
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const watch = isPodWatch(url);
    if (watch) watches.push({ path: url.pathname, cut: cutting });
    if (watch && cutting) {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      res.end();
      return;
    }
    pass(req, res, watch);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    watches,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'proxied', server: url, skipTLSVerify: true }], // client-node refuses http:// without skipTLSVerify
        users: [{ name: 'fake', token: upstream.token }],
        contexts: [{ name: 'proxied', cluster: 'proxied', user: 'fake', namespace: 'default' }],
        currentContext: 'proxied',
      });
      return kc;
    },
    openWatches: () => open.size,
    cut() {
      cutting = true;
      for (const end of [...open]) end();
    },
    heal() {
      cutting = false;
    },
    async close() {
      for (const end of [...open]) end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
