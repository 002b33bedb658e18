/** An explicit --tf-backend that cannot start: the fallback `auto` would take, said as a warning. */
import { createRequire } from 'node:module';
import { createLogger } from '../../telemetry/logger.js';
import { selectBackend } from './backend.js';

const nodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

(nodeInstalled ? test.skip : test)('--tf-backend tensorflow without tfjs-node runs wasm, as auto would, with a warning naming the flag', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  expect(await selectBackend('tensorflow', log, '--tf-backend')).toBe('wasm');
  expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: '--tf-backend tensorflow could not start: using wasm instead', requested: 'tensorflow', backend: 'wasm', unavailable: ['tensorflow'] }));
});
