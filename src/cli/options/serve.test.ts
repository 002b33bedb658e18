import { parseOptions, UsageError } from '../../config/options.js';
import { HEAL_RULES } from '../../healer/rules.js';
import { MAX_FINE_TUNE_INTERVAL_SECONDS, SERVE_OPTIONS } from './serve.js';
import { createForecasterProvider } from '../../forecast/catalog.js';
import type { FineTunePool } from '../../forecast/lstm/finetune-pool.js';
import { LstmForecaster } from '../../forecast/lstm/forecaster.js';
import type { LstmMeta } from '../../forecast/lstm/meta.js';
import { DEFAULT_SHAPE } from '../../forecast/lstm/model.js';
import type { LstmRuntime } from '../../forecast/lstm/workload.js';
import { DEFAULT_MAX_MINUTES } from '../../sources/prometheus.js';
import { silentLogger } from '../../telemetry/logger.js';

// Issue 19, defect 2: the share of the newest revision's pods that must crash-loop for a rollback
// (the rule itself: healer/rules.test.ts).
test('--heal-crash-loop-share / AMADEUS_HEAL_CRASH_LOOP_SHARE: the healer\'s default, any share in (0, 1]', () => {
  expect(parseOptions(SERVE_OPTIONS, [], {}).healCrashLoopShare).toBe(HEAL_RULES.crashLoopShare);
  expect(parseOptions(SERVE_OPTIONS, ['--heal-crash-loop-share', '0.75'], {}).healCrashLoopShare).toBe(0.75);
  expect(parseOptions(SERVE_OPTIONS, [], { AMADEUS_HEAL_CRASH_LOOP_SHARE: '1' }).healCrashLoopShare).toBe(1);
  for (const bad of ['0', '1.5', 'half']) expect(() => parseOptions(SERVE_OPTIONS, ['--heal-crash-loop-share', bad], {})).toThrow(UsageError);
});

// With fine-tuning and its blend on, a refresh of an LSTM trigger reads about the interval plus five
// days: an interval whose read exceeds a Prometheus read's largest window failed every read.
test('--fine-tune-interval: at most what a refresh can read from Prometheus, naming the flag and the bound', () => {
  const max = MAX_FINE_TUNE_INTERVAL_SECONDS;
  expect(parseOptions(SERVE_OPTIONS, ['--fine-tune-interval', String(max)], {}).fineTuneInterval).toBe(max);
  for (const over of [max + 1, 2_592_000]) {
    expect(() => parseOptions(SERVE_OPTIONS, ['--fine-tune-interval', String(over)], {})).toThrow(UsageError);
    expect(() => parseOptions(SERVE_OPTIONS, [], { AMADEUS_FINE_TUNE_INTERVAL: String(over) })).toThrow(new RegExp(`--fine-tune-interval .*<= ${max}\\b`));
  }
  // What serve builds for a trigger (sync over calibration over the gate or the LSTM, the metadata's
  // longest history) reads at most a Prometheus read at the bound, and more one minute past it.
  const readMinutes = (intervalSeconds: number, name: string) => {
    const shared = new LstmForecaster('lstm', {} as never, { shape: DEFAULT_SHAPE } as LstmMeta);
    const lstm: LstmRuntime = { shared, pool: {} as FineTunePool, weightsDir: null, weights: null, fineTuneIntervalMs: intervalSeconds * 1000, fineTuneHistoryMinutes: 20160, fineTuneBlend: true, log: silentLogger };
    const provider = createForecasterProvider({ lstm, log: silentLogger, sync: { store: null, owns: () => true } });
    return provider(name, 'shop/web').historyMinutes(10080);
  };
  for (const name of ['auto', 'lstm']) {
    expect(readMinutes(max, name)).toBe(DEFAULT_MAX_MINUTES);
    expect(readMinutes(max + 60, name)).toBeGreaterThan(DEFAULT_MAX_MINUTES);
  }
});
