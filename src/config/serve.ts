/** `amadeus serve` options: the defaults serve a no-cluster demo on 0.0.0.0:6000. */
import { DEFAULT_MODEL, MODEL_NAMES } from '../forecast/catalog.js';
import { BACKENDS } from '../forecast/lstm/backend.js';
import { LEVELS } from '../telemetry/logger.js';
import { boolean, integer, number, oneOf, optional, text } from './fields.js';
import { fileOption, option, type OptionSchema } from './options.js';

const o = option;

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const file = fileOption;

export const SERVE_OPTIONS = {
  address: o(text({ pattern: ADDRESS, expected: 'host:port', default: '0.0.0.0:6000' }), 'gRPC listen address.'),
  tlsCert: o(file(), 'Server certificate (PEM) for TLS; needs --tls-key.'),
  tlsKey: o(file(), 'Server private key (PEM) for TLS.'),
  tlsClientCa: o(file(), 'CA (PEM) that client certificates must chain to: enables mutual TLS.'),
  refreshInterval: o(number({ gt: 0, max: 3600, default: 30 }), 'Seconds between two refreshes of one ScaledObject.'),
  refreshConcurrency: o(integer({ min: 1, max: 1000, default: 8 }), 'Refreshes that may run at once.'),
  idleTimeout: o(number({ gt: 0, default: 600 }), 'Seconds without a call after which a ScaledObject is forgotten.'),
  maxObjects: o(integer({ min: 1, default: 5000 }), 'Most ScaledObjects served at once (more → RESOURCE_EXHAUSTED).'),
  defaultForecaster: o(oneOf(MODEL_NAMES, { default: DEFAULT_MODEL }), 'Forecaster for ScaledObjects that name none.'),
  model: o(text({ default: 'models/nasa-lstm', expected: 'a directory' }), 'The pre-trained LSTM (model.json, weights.bin, meta.json); relative paths are from the Amadeus install.'),
  tfBackend: o(oneOf(BACKENDS, { default: 'auto' }), 'TensorFlow.js backend: auto tries tensorflow (tfjs-node), then wasm, then cpu.'),
  inferenceWorker: o(boolean({ default: true }), 'Run LSTM inference in a worker thread, off the event loop that answers KEDA.'),
  fineTune: o(boolean({ default: true }), 'Fine-tune the LSTM per workload from its live history (in a worker thread).'),
  fineTuneInterval: o(number({ gt: 0, default: 3600 }), 'Seconds between two fine-tuning rounds of one workload.'),
  fineTuneHistory: o(integer({ min: 360, max: 20160, default: 2880 }), 'Minutes of history a fine-tuning round learns from.'),
  weightsDir: o(text({ default: '.amadeus/weights', expected: 'a directory' }), 'Where accepted fine-tuned weights are kept per workload, so a restart keeps them.'),
  prometheusUrl: o(optional(text({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, expected: 'an http(s) URL', required: true })), 'Default Prometheus for ScaledObjects without metadata serverAddress; makes Prometheus the default source (metadata query required).'),
  planTtl: o(number({ gt: 0, default: 300 }), 'Seconds the last good plan is served while the data source fails; then the last observed load.'),
  metricsAddress: o(text({ pattern: ADDRESS, expected: 'host:port', default: '0.0.0.0:9464' }), 'HTTP listen address of /metrics, /healthz and /readyz.'),
  replayTrace: o(file(), 'Replay source: a trace CSV (timestamp,requests[,observed]); unset → the built-in generator.'),
  replayScenario: o(oneOf(['daily', 'flash-sale'] as const, { default: 'flash-sale' }), 'Replay source: the generator scenario.'),
  replaySpeed: o(number({ gt: 0, max: 100000, default: 1 }), 'Replay source: virtual minutes per real minute.'),
  replaySeed: o(integer({ min: 0, default: 1 }), 'Replay source: the generator seed.'),
  replayPeak: o(number({ gt: 0, default: 100 }), 'Replay source: the generator\'s weekday peak, requests per second.'),
  demo: o(boolean({ default: false }), 'Register a demo ScaledObject (default/amadeus-demo) so refreshes run without KEDA.'),
  shutdownTimeout: o(number({ gt: 0, max: 600, default: 10 }), 'Seconds a graceful shutdown may take before calls are cut.'),
  logLevel: o(oneOf(LEVELS, { default: 'info' }), 'Log level.'),
  refreshLogLevel: o(oneOf(LEVELS, { default: 'info' }), 'Level of the one line logged per refresh.'),
} satisfies OptionSchema;
