/** Stops a worker thread the pools no longer use (crashed, exited or stuck), whatever it still reports while it stops. */
import type { Worker } from 'node:worker_threads';

export function retireWorker(w: Worker): void {
  w.removeAllListeners();
  w.on('error', () => undefined);
  void w.terminate().catch(() => undefined);
}
