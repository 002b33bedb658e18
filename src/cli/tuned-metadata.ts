/**
 * `simulate --tune`'s recommendation: the ScaledObject trigger metadata under which `serve` plans as
 * the tuned run did — every metadata key of the run's settings whose value is not what the metadata
 * parser gives without it. surgeNoiseMargin included: tuning moves it with the noise margin, and a
 * ScaledObject without it keeps its own default.
 */
import { createMetadataParser } from '../scaler/metadata.js';

/** The run's settings (SimulationResult['amadeus']) that are metadata keys of the same name. */
export const RUN_METADATA_KEYS = ['forecaster', 'horizonMinutes', 'historyMinutes', 'quantile', 'headroom', 'noiseMargin', 'surgeNoiseMargin', 'signals'] as const;

// Required by the parser; no planner key depends on it.
const REQUIRED = { targetValue: '1' };

// Signals are a set: their order does not matter.
const canonical = (v: unknown) => JSON.stringify(Array.isArray(v) ? [...v].sort() : v);

export function tunedMetadata(run: Readonly<Record<string, string | number | boolean | null>>): Record<string, string> {
  const parse = createMetadataParser();
  const defaults = parse(REQUIRED);
  const out: Record<string, string> = {};
  for (const key of RUN_METADATA_KEYS) {
    const value = run[key];
    // Quantile `none` (the point forecast) is metadata without `quantile`.
    if (value === undefined || value === null || (key === 'quantile' && value === 'none')) continue;
    const raw = String(value);
    if (canonical(parse({ ...REQUIRED, [key]: raw })[key]) !== canonical(defaults[key])) out[key] = raw;
  }
  return out;
}

/** The keys as lines to paste under a trigger's `metadata:` (values quoted: metadata holds strings). */
export function metadataLines(metadata: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(metadata);
  if (entries.length === 0) return ['  (none: every key at its default)'];
  return entries.map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
}
