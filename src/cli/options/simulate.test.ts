/** `simulate`'s options read serve's environment the way serve does. */
import { parseOptions } from '../../config/options.js';
import { DEFAULT_FINE_TUNE_INTERVAL_MINUTES } from '../../forecast/lstm/workload.js';
import { SIM_DEFAULTS } from '../../simulate/params.js';
import { SERVE_OPTIONS } from './serve.js';
import { amadeusOf, SIMULATE_OPTIONS, simulateDefaults } from './simulate.js';

test('AMADEUS_FINE_TUNE_INTERVAL is seconds to simulate as to serve: the ConfigMap\'s value simulates serve\'s rounds', () => {
  for (const value of ['600', '10800', '21600']) {
    const env = { AMADEUS_FINE_TUNE_INTERVAL: value };
    const sim = parseOptions(SIMULATE_OPTIONS, [], env);
    expect(sim.fineTuneInterval).toBe(parseOptions(SERVE_OPTIONS, [], env).fineTuneInterval);
    expect(amadeusOf(sim, SIM_DEFAULTS).forecaster.fineTuneIntervalSeconds).toBe(Number(value));
  }
  // Serve's default in the environment is simulate's default: the same rounds as with none.
  const serveDefault = String(parseOptions(SERVE_OPTIONS, [], {}).fineTuneInterval);
  expect(parseOptions(SIMULATE_OPTIONS, [], { AMADEUS_FINE_TUNE_INTERVAL: serveDefault })).toEqual(simulateDefaults());
  // ...which is the 6 hours simulate always ran (its benchmark figures unchanged).
  expect(amadeusOf(simulateDefaults(), SIM_DEFAULTS).forecaster.fineTuneIntervalSeconds).toBe(DEFAULT_FINE_TUNE_INTERVAL_MINUTES * 60);
});
