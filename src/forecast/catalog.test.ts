import { silentLogger } from '../telemetry/logger.js';
import { createForecasterProvider, MODEL_NAMES } from './catalog.js';

const provider = createForecasterProvider({ lstm: null, unavailableReason: 'no model in this test', log: silentLogger });
const history = { start: Date.UTC(2025, 0, 6), requests: Array.from({ length: 3000 }, (_, i) => 100 + (i % 7)) };

test('every model name is constructible; baselines are shared, stateful models are per workload', () => {
  for (const name of MODEL_NAMES) expect(provider(name, 'ns/a').historyMinutes(60)).toBeGreaterThanOrEqual(60);
  // Per workload: each wraps the model in its own peak calibration.
  expect(provider('mean30', 'ns/a')).not.toBe(provider('mean30', 'ns/b'));
  expect(provider('auto', 'ns/a')).not.toBe(provider('auto', 'ns/a'));
  expect(() => provider('prophet', 'ns/a')).toThrow('unknown forecaster "prophet"');
});

test('without a loadable LSTM, `auto` serves the best baseline and says why; `lstm` fails with the reason', async () => {
  const auto = await provider('auto', 'ns/a').forecast({ history, horizon: 10 });
  expect(auto.model).toBe('holt-winters'); // first in preference before any live record
  expect(auto.gate?.reason).toBe('primary-failed');
  await expect(provider('lstm', 'ns/a').forecast({ history, horizon: 10 })).rejects.toThrow('lstm unavailable: no model in this test');
});
