/** `amadeus serve` options: the defaults serve KEDA on 0.0.0.0:6000, each trigger reading Prometheus. */
import { DEFAULT_MODEL, MODEL_NAMES } from '../../forecast/catalog.js';
import { backendOption } from './backend.js';
import { DEFAULT_FINE_TUNE_INTERVAL_MINUTES, maxFineTuneIntervalMinutes } from '../../forecast/lstm/workload.js';
import { DEFAULT_SHAPE } from '../../forecast/lstm/model.js';
import { syncMinutes } from '../../forecast/sync.js';
import { DEFAULT_MAX_MINUTES } from '../../sources/prometheus.js';
import { LEVELS } from '../../telemetry/logger.js';
import { boolean, FieldDetail, hostPort, httpUrl, integer, number, oneOf, optional, SEED_MAX, text, type FieldSpec } from '../../config/fields.js';
import { LabelSelectorError, parseLabelSelector } from '../../healer/label-selector.js';
import { fileOption, option, type OptionSchema } from '../../config/options.js';
import { HEAL_MAX_PODS, HEAL_MAX_PODS_RANGE, KUBE_MAX_ANSWER_BYTES, KUBE_MAX_ANSWER_BYTES_RANGE } from '../../healer/kube-limits.js';
import { NODE_FIT_MODES } from '../../healer/node-fit.js';

const o = option;

/** A selector the API server would refuse fails every pod watch with HTTP 400: refused here, saying where. */
const labelSelector = (): FieldSpec<string> => ({
  expected: 'a label selector (key=value, key!=value, key in (a,b), key notin (a,b), key, !key; separated by commas)',
  required: true,
  parse(raw) {
    try {
      parseLabelSelector(raw);
    } catch (err) {
      if (err instanceof LabelSelectorError) throw new FieldDetail(err.message);
      throw err;
    }
    return raw.trim();
  },
});

// Every number has both bounds (README "Configuration" says why each): a duration within what a
// timer or a cooldown can mean (below a day to a month), a count within what one process serves.

const file = fileOption;

/** Longest --state-sync-interval (s). */
export const MAX_STATE_SYNC_INTERVAL_SECONDS = 3600;

/**
 * Longest --fine-tune-interval (s): with --fine-tune-blend a refresh reads about the interval plus
 * five days, and a longer one than a Prometheus read allows (DEFAULT_MAX_MINUTES) would fail every
 * read of every LSTM trigger. The state sync reads its catch-up more, the longest any accepted
 * --state-sync-interval makes (syncMinutes), so every pair of accepted values fits. The horizon is
 * the one `amadeus train` gives its models; a loaded model with a longer one lowers it, and serve
 * refuses to start past that (checkFineTuneInterval).
 */
export const MAX_FINE_TUNE_INTERVAL_SECONDS =
  maxFineTuneIntervalMinutes(DEFAULT_MAX_MINUTES, syncMinutes({ intervalMinutes: MAX_STATE_SYNC_INTERVAL_SECONDS / 60 }).catchUp, DEFAULT_SHAPE.horizonMinutes) * 60;

/**
 * The shortest --idle-timeout: well above KEDA's polling (30 s by default) and the HPA's metrics
 * period (15 s). Below them every trigger was forgotten between two calls, so each call found it new
 * and answered UNAVAILABLE (no plan yet), for ever.
 */
export const MIN_IDLE_TIMEOUT_SECONDS = 120;

export const SERVE_OPTIONS = {
  address: o(hostPort({ minPort: 0, default: '0.0.0.0:6000' }), 'gRPC listen address.'),
  tlsCert: o(file(), 'Server certificate (PEM) for TLS; needs --tls-key.'),
  tlsKey: o(file(), 'Server private key (PEM) for TLS.'),
  tlsClientCa: o(file(), 'CA (PEM) that client certificates must chain to: enables mutual TLS.'),
  refreshOffset: o(number({ min: 0, max: 59, default: 10 }), 'Seconds after each minute (of the source\'s clock) at which every ScaledObject refreshes, reading the history up to the minute just ended.'),
  refreshConcurrency: o(integer({ min: 1, max: 1000, default: 8 }), 'Refreshes that may run at once.'),
  idleTimeout: o(number({ min: MIN_IDLE_TIMEOUT_SECONDS, max: 604800, default: 600 }), 'Seconds without a call after which a ScaledObject is forgotten.'),
  maxObjects: o(integer({ min: 1, max: 1_000_000, default: 5000 }), 'Most ScaledObjects served at once (more → RESOURCE_EXHAUSTED).'),
  defaultForecaster: o(oneOf(MODEL_NAMES, { default: DEFAULT_MODEL }), 'Forecaster for ScaledObjects that name none.'),
  model: o(text({ default: 'models/nasa-lstm', expected: 'a directory' }), 'The pre-trained LSTM (model.json, weights.bin, meta.json); relative paths are from the Amadeus install.'),
  tfBackend: backendOption(),
  inferenceWorker: o(boolean({ default: true }), 'Run LSTM inference in a worker thread, off the event loop that answers KEDA.'),
  fineTune: o(boolean({ default: true }), 'Fine-tune the LSTM per workload from its live history (in a worker thread).'),
  fineTuneInterval: o(number({ min: 600, max: MAX_FINE_TUNE_INTERVAL_SECONDS, default: DEFAULT_FINE_TUNE_INTERVAL_MINUTES * 60 }), 'Seconds of the workload\'s own history between two fine-tuning rounds of one workload (its weights answer 10 minutes after the round starts); at most what a Prometheus read can hold beside the five days a round choosing a blend reads too.'),
  fineTuneHistory: o(integer({ min: 360, max: 20160, default: 2880 }), 'Minutes of history a fine-tuning round learns from.'),
  fineTuneBlend: o(boolean({ default: true }), 'Each fine-tuning round also shrinks the LSTM\'s point forecast toward persistence, mean10, mean30, days3 (the median of the last three weekdays\' same minutes) or holt-winters (over the two days before) by a weight it chooses on the workload\'s own history (published with the weights); --no-fine-tune-blend: the round\'s weights alone.'),
  weightsDir: o(text({ default: '.amadeus/weights', expected: 'a directory' }), 'Where accepted fine-tuned weights are kept per workload, so a restart keeps them.'),
  prometheusUrl: o(optional(httpUrl({ required: true })), 'Default Prometheus for triggers whose metadata has a query and no serverAddress.'),
  prometheusCredentialsDir: o(text({ default: '/etc/amadeus/prometheus-credentials', expected: 'a directory' }), 'The only directory whose files ScaledObject metadata may name as Prometheus credentials (usernameFile, passwordFile, bearerTokenFile, caFile, certFile, keyFile; relative names are taken from it): mount the Secrets there. Any other path is refused, so a ScaledObject cannot make Amadeus send its own service-account token, or read a device, on its behalf.'),
  planTtl: o(number({ min: 1, max: 86400, default: 300 }), 'Seconds the last good plan is served as `last-plan` while the data source fails; then as `stale-plan` until the trigger\'s maxOutageSeconds, then UNAVAILABLE.'),
  metricsAddress: o(hostPort({ minPort: 0, default: '0.0.0.0:9464' }), 'HTTP listen address of /metrics, /healthz and /readyz.'),
  // Opt-in: a trigger without a query scaled a real workload on synthetic load when it was the default.
  replay: o(boolean({ default: false }), 'Serve triggers whose metadata has no query (nor serverAddress) from the replay source: synthetic load, for demos and tests, never production; without it such a trigger is INVALID_ARGUMENT. --demo and --replay-trace turn it on too (refused beside --no-replay).'),
  replayTrace: o(file(), 'Replay source: a trace CSV (timestamp,requests[,observed]), which turns the replay source on; unset → the built-in generator.'),
  replayScenario: o(oneOf(['daily', 'flash-sale'] as const, { default: 'flash-sale' }), 'Replay source: the generator scenario.'),
  replaySpeed: o(number({ min: 0.01, max: 100000, default: 1 }), 'Replay source: virtual minutes per real minute.'),
  replayStart: o(optional(text({ pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, expected: 'an ISO-8601 time with offset', required: true })), 'Replay source: the virtual time at start-up; unset: the trace\'s start + 2 days, or now for the generator.'),
  replaySeed: o(integer({ min: 0, max: SEED_MAX, default: 1 }), 'Replay source: the generator seed.'),
  replayPeak: o(number({ min: 0.001, max: 1e9, default: 100 }), 'Replay source: the generator\'s weekday peak, requests per second.'),
  demo: o(boolean({ default: false }), 'Register a demo ScaledObject (default/amadeus-demo) on the replay source so refreshes run without KEDA; touches no cluster: --heal and --replicas default to off.'),
  shutdownTimeout: o(number({ min: 0.1, max: 600, default: 10 }), 'Seconds a graceful shutdown may take before calls are cut.'),
  logLevel: o(oneOf(LEVELS, { default: 'info' }), 'Log level.'),
  refreshLogLevel: o(oneOf(LEVELS, { default: 'info' }), 'Level of the one line logged per refresh.'),
  // Notifications to Slack (src/notify): off unless a token and a channel are given.
  slackToken: o(optional(text({ required: true, expected: 'a Slack bot token' })), 'Slack bot token (chat:write); prefer the environment variable or --slack-token-file: flags show in process lists.'),
  slackTokenFile: o(file(), 'A file holding the Slack bot token (a mounted Secret).'),
  slackChannel: o(optional(text({ required: true, expected: 'a channel name or ID' })), 'Slack channel for notices (#ops or C0123…).'),
  slackApiUrl: o(optional(httpUrl({ pattern: /^https?:\/\/\S+\/$/, expected: 'an http(s) URL ending in /', required: true })), 'Slack API base URL (default https://slack.com/api/).'),
  slackScaleStep: o(integer({ min: 1, max: 10000, default: 2 }), 'Announce a predicted scale-out when the plan needs at least this many pods more than the current load.'),
  slackMinInterval: o(number({ min: 0, max: 86400, default: 60 }), 'Seconds between two Slack notices for one workload (the ones held back are counted in the next).'),
  slackDedupeWindow: o(number({ min: 0, max: 604800, default: 600 }), 'Seconds within which an identical notice is not repeated.'),
  // The healer (src/healer): runs when Kubernetes credentials are found, unless turned off.
  heal: o(oneOf(['auto', 'on', 'off'] as const, { default: 'auto' }), 'Self-healing: auto runs it when a kubeconfig or in-cluster service account is found; on requires one; off never runs it (the default with --demo).'),
  kubeconfig: o(file(), 'Kubeconfig for the healer; unset: the in-cluster service account, else KUBECONFIG, else ~/.kube/config.'),
  kubeMaxAnswerBytes: o(integer({ ...KUBE_MAX_ANSWER_BYTES_RANGE, default: KUBE_MAX_ANSWER_BYTES }), 'Most bytes one Kubernetes API answer (a page of a list, an object) or one watch event may take (healer and replica Leases); a larger one fails its call, which changes nothing and is reported.'),
  healNamespaces: o(text({ default: '', pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(,[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$/, expected: 'namespace names separated by commas' }), 'Namespaces the healer watches; empty: all (kube-system is never touched).'),
  healPodSelector: o(optional(labelSelector()), 'Only pods matching this label selector are watched.'),
  healMaxPods: o(integer({ ...HEAL_MAX_PODS_RANGE, default: HEAL_MAX_PODS }), 'Most pods the healer watches, all its namespaces together (each replica keeps them in memory); past it a namespace (the one whose list does not fit, or the largest) is not watched (nothing is healed there) until there is room again, and the log says so.'),
  healDryRun: o(boolean({ default: false }), 'Decide and report every healing action, but patch nothing (namespaces can ask for it with amadeus.io/heal-dry-run).'),
  healMemoryCap: o(text({ default: '8Gi', pattern: /^\d+(\.\d+)?([EPTGMk]i?|e\d+)?$/, expected: 'a memory quantity such as 8Gi' }), 'No memory limit is raised above this (a workload\'s amadeus.io/max-memory may lower it).'),
  healOomFactor: o(number({ gt: 1, max: 10, default: 1.2 }), 'OOM rule: the new memory limit is at least limit × this…'),
  healOomMinBump: o(text({ default: '100Mi', pattern: /^\d+(\.\d+)?([EPTGMk]i?|e\d+)?$/, expected: 'a memory quantity such as 100Mi' }), '…and at least limit + this.'),
  healCrashLoopRestarts: o(integer({ min: 1, max: 1000, default: 2 }), 'Restarts from which a CrashLoopBackOff counts as a failure.'),
  healCrashLoopShare: o(number({ min: 0.01, max: 1, default: 0.5 }), 'A rollback needs more than this share of the newest revision\'s pods crash-looping (all of them when it has fewer than 3, or when this is 1).'),
  healOomCooldown: o(number({ min: 0, max: 2_592_000, default: 3600 }), 'Seconds before the same workload\'s memory is raised again.'),
  healRollbackCooldown: o(number({ min: 0, max: 2_592_000, default: 14400 }), 'Seconds before the same workload is rolled back again.'),
  healMaxActionsPerHour: o(integer({ min: 1, max: 10000, default: 10 }), 'Healing actions allowed across the cluster in any hour.'),
  healKnownGood: o(number({ min: 0, max: 604800, default: 600 }), 'Seconds a revision\'s pods must all have been Ready before it is a rollback target.'),
  healNodeFit: o(oneOf(NODE_FIT_MODES, { default: 'off' }), 'A memory raise that raises the pods\' request, checked against the nodes\' room: refuse it when no node can hold the new pods (for a fixed set of nodes only), warn and raise, or off (with a node autoscaler: it makes room the nodes that exist do not show).'),
  healLeaseNamespace: o(optional(text({ required: true, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, expected: 'a namespace' })), 'Namespace of the leader-election Lease; unset: this pod\'s namespace (POD_NAMESPACE or the service account\'s), else default.'),
  healLeaseName: o(text({ default: 'amadeus-healer', pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, expected: 'a Lease name' }), 'Name of the leader-election Lease: one replica heals.'),
  // Several replicas (src/replicas, docs/adr/0003-replica-state.md).
  replicas: o(oneOf(['auto', 'on', 'off'] as const, { default: 'auto' }), 'Replica coordination: auto uses Kubernetes Leases when credentials are found (in-cluster, --kubeconfig, KUBECONFIG, ~/.kube/config); on requires them; off: this replica owns every workload (the default with --demo).'),
  replicaSet: o(text({ default: 'amadeus', pattern: /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, expected: 'a label value' }), 'The replica set\'s name (label amadeus.io/replica-set on each replica\'s Lease): replicas of one set share the work.'),
  replicaNamespace: o(optional(text({ required: true, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, expected: 'a namespace' })), 'Namespace of the replica and fine-tuning Leases; unset: this pod\'s namespace (POD_NAMESPACE or the service account\'s), else default.'),
  replicaLeaseDuration: o(number({ min: 2, max: 600, default: 15 }), 'Seconds after its last renewal that a replica (its Lease) counts as gone.'),
  replicaRenew: o(number({ min: 0.5, max: 300, default: 5 }), 'Seconds between two renewals of this replica\'s Lease (less than --replica-lease-duration).'),
  fineTuneLockDuration: o(integer({ min: 5, max: 3600, default: 120 }), 'Seconds a workload\'s fine-tuning lock (a Lease) outlives a replica that died holding it, as the other replicas see it unchanged; the holder renews it every third of this while its round runs and releases it when done.'),
  stateSyncInterval: o(integer({ min: 60, max: MAX_STATE_SYNC_INTERVAL_SECONDS, default: 300 }), 'Seconds (whole minutes) between two snapshots of a workload\'s gate and calibration state that its owner publishes to --weights-dir; the other replicas compare and adopt them.'),
  healIdentity: o(optional(text({ required: true, expected: 'a name' })), 'This replica in the Leases (healer and replicas); unset: POD_NAME or the host name.'),
} satisfies OptionSchema;
