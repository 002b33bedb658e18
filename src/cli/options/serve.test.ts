import { parseOptions, UsageError } from '../../config/options.js';
import { HEAL_RULES } from '../../healer/rules.js';
import { PROBE_OPTIONS } from './probe.js';
import { SIMULATE_OPTIONS } from './simulate.js';
import { MAX_FINE_TUNE_INTERVAL_SECONDS, MAX_STATE_SYNC_INTERVAL_SECONDS, MIN_IDLE_TIMEOUT_SECONDS, SERVE_OPTIONS } from './serve.js';
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

test('--heal-node-fit / AMADEUS_HEAL_NODE_FIT: off by default; off, warn or refuse, nothing else', () => {
  expect(parseOptions(SERVE_OPTIONS, [], {}).healNodeFit).toBe('off');
  expect(parseOptions(SERVE_OPTIONS, ['--heal-node-fit', 'refuse'], {}).healNodeFit).toBe('refuse');
  expect(parseOptions(SERVE_OPTIONS, [], { AMADEUS_HEAL_NODE_FIT: 'warn' }).healNodeFit).toBe('warn');
  expect(parseOptions(SERVE_OPTIONS, ['--heal-node-fit=off'], { AMADEUS_HEAL_NODE_FIT: 'refuse' }).healNodeFit).toBe('off');
  for (const bad of ['on', 'true', 'Refuse']) {
    expect(() => parseOptions(SERVE_OPTIONS, ['--heal-node-fit', bad], {})).toThrow('--heal-node-fit (AMADEUS_HEAL_NODE_FIT) must be one of "off", "warn", "refuse"');
  }
});

// `--address 127.0.0.1:99999` passed validation; the server failed to bind it (exit 1), and
// `--prometheus-url http://h:99999` passed too, to fail the start-up's last step.
test('address and URL flags: a port past 65535 is refused at parse time, naming the flag and variable', () => {
  expect(parseOptions(SERVE_OPTIONS, ['--address', '127.0.0.1:0', '--metrics-address', '[::1]:65535'], {})).toMatchObject({ address: '127.0.0.1:0', metricsAddress: '[::1]:65535' });
  expect(() => parseOptions(SERVE_OPTIONS, ['--address', '127.0.0.1:99999'], {})).toThrow('--address (AMADEUS_ADDRESS) must be host:port, the port 0-65535 (0: any free port), got "127.0.0.1:99999"');
  expect(() => parseOptions(SERVE_OPTIONS, [], { AMADEUS_METRICS_ADDRESS: '0.0.0.0:65536' })).toThrow('--metrics-address (AMADEUS_METRICS_ADDRESS) must be host:port');
  expect(() => parseOptions(SERVE_OPTIONS, ['--prometheus-url', 'http://127.0.0.1:99999'], {})).toThrow('--prometheus-url (AMADEUS_PROMETHEUS_URL) must be an http(s) URL');
  expect(() => parseOptions(SERVE_OPTIONS, ['--slack-api-url', 'http://127.0.0.1:99999/'], {})).toThrow('--slack-api-url (AMADEUS_SLACK_API_URL) must be an http(s) URL ending in /');
  expect(() => parseOptions(PROBE_OPTIONS, ['--address', '127.0.0.1:0'], {})).toThrow('--address (AMADEUS_ADDRESS) must be host:port, the port 1-65535');
  expect(() => parseOptions(SIMULATE_OPTIONS, ['--prometheus-url', 'http://127.0.0.1:99999'], {})).toThrow(UsageError);
});

// 'app in ((' started, logged "healer started" and reported ready, while every pod watch got HTTP 400.
test('--heal-pod-selector / AMADEUS_HEAL_POD_SELECTOR: a Kubernetes label selector, refused at parse time saying where it is wrong', () => {
  expect(parseOptions(SERVE_OPTIONS, ['--heal-pod-selector', ' app in (web, api),!canary '], {}).healPodSelector).toBe('app in (web, api),!canary');
  expect(parseOptions(SERVE_OPTIONS, [], { AMADEUS_HEAL_POD_SELECTOR: 'app.kubernetes.io/part-of=shop' }).healPodSelector).toBe('app.kubernetes.io/part-of=shop');
  expect(() => parseOptions(SERVE_OPTIONS, ['--heal-pod-selector', 'app in (('], {})).toThrow(UsageError);
  expect(() => parseOptions(SERVE_OPTIONS, ['--heal-pod-selector', 'app in (('], {})).toThrow(
    '--heal-pod-selector (AMADEUS_HEAL_POD_SELECTOR) must be a label selector (key=value, key!=value, key in (a,b), key notin (a,b), key, !key; separated by commas), got "app in ((": expected "," or ")" in a set of values, found "(" at character 9',
  );
  expect(() => parseOptions(SERVE_OPTIONS, [], { AMADEUS_HEAL_POD_SELECTOR: 'tier>1' })).toThrow(/AMADEUS_HEAL_POD_SELECTOR.*operator ">"/);
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
  // longest history) reads at most a Prometheus read at the bound, and more one minute past it; with
  // the longest --state-sync-interval (whose catch-up is longest), and less with a shorter one.
  for (const name of ['auto', 'lstm']) {
    expect(readMinutes(max, name)).toBe(DEFAULT_MAX_MINUTES);
    expect(readMinutes(max, name, { syncMinutes: 5 })).toBe(DEFAULT_MAX_MINUTES - 30);
    // (Past the bound serve refuses to start, below: the read is measured with the check off.)
    expect(readMinutes(max + 60, name, { maxReadMinutes: null })).toBeGreaterThan(DEFAULT_MAX_MINUTES);
  }
});

/** The most minutes one refresh of `name` reads in serve's composition (the metadata's longest history). */
function readMinutes(intervalSeconds: number, name: string, o: { horizonMinutes?: number; blend?: boolean; fineTune?: boolean; maxReadMinutes?: number | null; syncMinutes?: number } = {}): number {
  const shape = { ...DEFAULT_SHAPE, horizonMinutes: o.horizonMinutes ?? DEFAULT_SHAPE.horizonMinutes };
  const shared = new LstmForecaster('lstm', {} as never, { shape } as LstmMeta);
  const lstm: LstmRuntime = { shared, pool: o.fineTune === false ? null : ({} as FineTunePool), weightsDir: null, weights: null, fineTuneIntervalMs: intervalSeconds * 1000, fineTuneHistoryMinutes: 20160, fineTuneBlend: o.blend ?? true, log: silentLogger };
  const provider = createForecasterProvider({ lstm, log: silentLogger, sync: { store: null, owns: () => true, intervalMinutes: o.syncMinutes ?? MAX_STATE_SYNC_INTERVAL_SECONDS / 60 }, ...(o.maxReadMinutes === undefined ? {} : { maxReadMinutes: o.maxReadMinutes }) });
  return provider(name, 'shop/web').historyMinutes(10080);
}

// The flag's bound assumes `amadeus train`'s 10-minute horizon: a loaded model with a longer one
// makes every round read more, so an interval the flag accepts could still fail every read.
test('--fine-tune-interval: a loaded model whose horizon makes the interval\'s reads exceed a Prometheus read is refused at start-up, naming the flag and the numbers', () => {
  const max = MAX_FINE_TUNE_INTERVAL_SECONDS;
  const horizon = DEFAULT_SHAPE.horizonMinutes + 50;
  const bound = max - 50 * 60; // 50 more minutes of horizon, 50 fewer of interval
  expect(() => readMinutes(max, 'auto', { horizonMinutes: horizon })).toThrow(UsageError);
  expect(() => readMinutes(max, 'lstm', { horizonMinutes: horizon })).toThrow(`--fine-tune-interval ${max} s is too long for the loaded model (horizon ${horizon} min): a refresh would read ${DEFAULT_MAX_MINUTES + 50} minutes, more than a source read may hold (${DEFAULT_MAX_MINUTES}); at most ${bound} s with this model, or --no-fine-tune-blend`);
  // At that model's own bound it starts, and reads exactly a Prometheus read's window.
  expect(readMinutes(bound, 'auto', { horizonMinutes: horizon })).toBe(DEFAULT_MAX_MINUTES);
  expect(() => readMinutes(bound + 1, 'auto', { horizonMinutes: horizon })).toThrow(UsageError);
  // Rounds that choose no blend, or no fine-tuning at all, read no interval: nothing to refuse.
  expect(readMinutes(max, 'auto', { horizonMinutes: horizon, blend: false })).toBeLessThanOrEqual(DEFAULT_MAX_MINUTES);
  expect(readMinutes(max, 'auto', { horizonMinutes: horizon, fineTune: false })).toBeLessThanOrEqual(DEFAULT_MAX_MINUTES);
  // A horizon so long that no interval fits with a blend: the message says what does.
  expect(() => readMinutes(600, 'auto', { horizonMinutes: 40_000 })).toThrow(/--fine-tune-interval 600 s .*use --no-fine-tune-blend with this model$/);
});

// Review 5, D11: below KEDA's polling (30 s) or the HPA's metrics period (15 s) every trigger was
// forgotten between two calls, and each call answered UNAVAILABLE (no plan yet) for ever.
test('--idle-timeout / AMADEUS_IDLE_TIMEOUT: at least 120 s, well above KEDA\'s and the HPA\'s polling; the default stays 600', () => {
  expect(MIN_IDLE_TIMEOUT_SECONDS).toBe(120);
  expect(parseOptions(SERVE_OPTIONS, [], {}).idleTimeout).toBe(600);
  expect(parseOptions(SERVE_OPTIONS, ['--idle-timeout', '120'], {}).idleTimeout).toBe(120);
  for (const short of ['10', '30', '119']) {
    expect(() => parseOptions(SERVE_OPTIONS, ['--idle-timeout', short], {})).toThrow(UsageError);
    expect(() => parseOptions(SERVE_OPTIONS, [], { AMADEUS_IDLE_TIMEOUT: short })).toThrow(/--idle-timeout \(AMADEUS_IDLE_TIMEOUT\) must be a number >= 120 and <= 604800/);
  }
});

// Intervals over 30 minutes passed the flag's checks, but serve made their forecasters with the
// default 30-minute catch-up, which the sync refuses (it must be at least an interval): every call of
// every trigger answered INTERNAL, each leaving a forecaster behind.
test('--state-sync-interval: every value the flag accepts builds serve\'s forecasters, which forecast', async () => {
  const history = { start: Date.UTC(2025, 0, 6), requests: Array.from({ length: 3000 }, (_, i) => 100 + (i % 7)) };
  for (const seconds of [60, 1800, 1860, MAX_STATE_SYNC_INTERVAL_SECONDS]) {
    const interval = parseOptions(SERVE_OPTIONS, ['--state-sync-interval', String(seconds)], {}).stateSyncInterval;
    const provider = createForecasterProvider({ lstm: null, unavailableReason: 'none here', log: silentLogger, sync: { store: null, owns: () => true, intervalMinutes: interval / 60 } });
    const f = provider('auto', 'shop/web');
    expect(f.historyMinutes(60)).toBeGreaterThanOrEqual(60 + interval / 60); // it replays up to an interval
    expect((await f.forecast({ history, horizon: 10 })).values).toHaveLength(10);
  }
  expect(() => parseOptions(SERVE_OPTIONS, ['--state-sync-interval', String(MAX_STATE_SYNC_INTERVAL_SECONDS + 60)], {})).toThrow(UsageError);
  // A catch-up shorter than the interval (only a caller of the catalog can ask for one) fails when the
  // provider is made (serve's start-up), not at each trigger's call.
  expect(() => createForecasterProvider({ lstm: null, log: silentLogger, sync: { store: null, owns: () => true, intervalMinutes: 60, catchUpMinutes: 30 } })).toThrow(RangeError);
});
