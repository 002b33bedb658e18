/**
 * ScaledObject trigger metadata → typed scaler configuration. One declarative table: every key
 * Amadeus accepts, its form and its default. The README's metadata table mirrors it.
 */
import { FieldsError, integer, nameSet, number, oneOf, optional, parseFields, text, type FieldSpec } from '../config/fields.js';
import { DEFAULT_MODEL, MODEL_NAMES, type ModelName } from '../forecast/catalog.js';
import { DEFAULT_SHAPE } from '../forecast/lstm/model.js';
import { PLANNER_DEFAULTS } from '../plan/defaults.js';
import { MAX_PLAN_VALUE } from '../plan/plan.js';
import { planningHorizonMinutes } from '../plan/horizon.js';
import { SIGNAL_NAMES } from '../plan/signals.js';
import { PROMETHEUS_METADATA } from '../sources/prometheus.js';

export const MODES = ['predictive', 'shadow', 'reactive'] as const;
export type Mode = (typeof MODES)[number];

export const DEFAULT_METRIC_NAME = 'amadeus-predicted-load';
/** horizonMinutes when neither it nor podStartupSeconds is given. */
export const DEFAULT_HORIZON_MINUTES = 10;

/** Smallest targetValue: KEDA passes it to the HPA as a quantity in milli-units. */
export const TARGET_MIN = 0.001;
/** Largest targetValue and activationValue: far inside an int64 of milli-units (9.2e15), finite in every sum. */
export const VALUE_LIMIT = 1e12;

/** maxOutageSeconds when not given: 15 minutes of a failing source, then KEDA's fallback. */
export const DEFAULT_MAX_OUTAGE_SECONDS = 900;

/** Keys KEDA itself uses for the connection to the scaler; they arrive in the map but are not ours. */
export const KEDA_CONNECTION_KEYS: ReadonlySet<string> = new Set([
  'scalerAddress',
  'tlsCertFile',
  'caCert',
  'tlsClientCert',
  'tlsClientKey',
  'unsafeSsl',
]);

// Kubernetes external metric names end up in URLs and label values: keep them to a safe alphabet.
const METRIC_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,198}[A-Za-z0-9])?$/;

/** Quantile levels of the horizon maximum the LSTM provides (metadata `quantile`). */
export const QUANTILES = DEFAULT_SHAPE.quantiles.map(String);

export function metadataSchema(defaultForecaster: string = DEFAULT_MODEL) {
  return {
    /**
     * Per-pod capacity in the load's unit: the HPA computes ceil(total planned load / targetValue).
     * KEDA hands it to the HPA in milli-units (int64 of value × 1000): below 0.001 it would be 0.
     */
    targetValue: number({ min: TARGET_MIN, max: VALUE_LIMIT, required: true }),
    /** IsActive is true when observed load or any forecast minute in the horizon exceeds this. */
    activationValue: number({ min: 0, max: VALUE_LIMIT, default: 0 }),
    /**
     * The ceiling of every value answered, in the load's unit: a plan above it is cut to it, and a
     * newest sample above it (like a negative, NaN or infinite one) is a source error, so the last
     * good plan stays in force. At most 9e15: KEDA turns values into int64 milli-units.
     */
    maxValue: number({ min: TARGET_MIN, max: MAX_PLAN_VALUE, default: VALUE_LIMIT }),
    /**
     * Seconds the last good plan is answered while the source fails (never less, never inactive);
     * after that every call answers UNAVAILABLE, so KEDA's own `fallback` replica count applies.
     * Unset: the scaler's default (DEFAULT_MAX_OUTAGE_SECONDS).
     */
    maxOutageSeconds: optional(number({ min: 60, max: 604800, required: true })),
    metricName: text({ pattern: METRIC_NAME, expected: 'a metric name of letters, digits, "-", "_" or "." (at most 200)', default: DEFAULT_METRIC_NAME }),
    /** Minutes ahead to forecast; the plan provisions for the maximum over them. Resolved by the parser. */
    horizonMinutes: optional(integer({ min: 1, max: 120, required: true })),
    /**
     * Seconds a new pod of the workload takes to become ready. Without horizonMinutes it sets the
     * horizon to when pods ordered now would be ready (plan/horizon.ts), rather than a fixed 10 minutes.
     */
    podStartupSeconds: optional(integer({ min: 0, max: 3600, required: true })),
    historyMinutes: integer({ min: 10, max: 10080, default: 60 }),
    /** Planned value = (max(forecast over the horizon, observed, signals) + noise margin) × (1 + headroom). */
    headroom: number({ min: 0, max: 10, default: PLANNER_DEFAULTS.headroom }),
    /**
     * k of the noise margin k·α·√base added to the planned base, α fitted on the history's
     * minute-to-minute changes (plan/noise.ts): room for bursts that grows with the load's own
     * noise rather than with its level. 0: none.
     */
    noiseMargin: number({ min: 0, max: 10, default: PLANNER_DEFAULTS.noiseMargin }),
    /** k of the noise margin while a surge is under way (plan/signals.ts). */
    surgeNoiseMargin: number({ min: 0, max: 10, default: PLANNER_DEFAULTS.surgeNoiseMargin }),
    /** What the history says beyond the forecast (plan/signals.ts): ramp, recurring, surge, onset, level; `none` for none. */
    signals: nameSet('signal', SIGNAL_NAMES, PLANNER_DEFAULTS.signals),
    mode: oneOf(MODES, { default: 'predictive' }),
    forecaster: oneOf(MODEL_NAMES, { default: defaultForecaster as ModelName }),
    /**
     * Provision for this quantile of the horizon's maximum (the LSTM's upper forecast) instead of
     * the point forecast's maximum; when the chosen model has no quantiles, the point forecast is used.
     */
    quantile: optional(oneOf(QUANTILES, { default: QUANTILES[0]! })),
    /** Replay source only: multiplies the replayed load, so several demo objects can differ. */
    replayScale: number({ min: 0.001, max: 1e9, default: 1 }),
    /** The Prometheus source: serverAddress, query, cpuQuery, memoryQuery, auth and TLS files. */
    ...PROMETHEUS_METADATA,
  } satisfies Record<string, FieldSpec<unknown>>;
}

export type ScalerConfig = ReturnType<MetadataParser>;
export type MetadataParser = ReturnType<typeof createMetadataParser>;

/** A request field that is wrong: the gRPC layer turns it into INVALID_ARGUMENT. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}

/**
 * Returns a parser of one ScaledObject's metadata. It throws InvalidRequestError naming every bad
 * key and the form it expects (the message reaches the ScaledObject's status through KEDA).
 */
export function createMetadataParser(defaultForecaster?: string) {
  const schema = metadataSchema(defaultForecaster);
  return (raw: Readonly<Record<string, string>>) => {
    try {
      const parsed = parseFields(schema, raw, { describeKey: (k) => `metadata "${k}"`, passThrough: KEDA_CONNECTION_KEYS });
      // Load above maxValue is a source error, so a threshold at or above it could never be crossed.
      if (parsed.activationValue >= parsed.maxValue) {
        throw new InvalidRequestError(`metadata "activationValue" must be below "maxValue" (${parsed.maxValue}), got ${parsed.activationValue}: the workload could never activate`);
      }
      // An explicit horizon wins; a known start-up time beats the fixed default.
      const horizonMinutes = parsed.horizonMinutes ?? (parsed.podStartupSeconds === undefined ? DEFAULT_HORIZON_MINUTES : planningHorizonMinutes(parsed.podStartupSeconds));
      return { ...parsed, horizonMinutes };
    } catch (err) {
      if (err instanceof FieldsError) throw new InvalidRequestError(err.message);
      throw err;
    }
  };
}
