/** What `meta.json` beside a saved model records: enough to use, audit and reproduce it. */
import { BLEND_BASELINES, isBlend, type Blend } from './blend.js';
import type { AugmentOptions } from './augment.js';
import { FEATURES } from './features.js';
import type { ModelShape } from './model.js';

export const META_FORMAT = 'amadeus-lstm/1';

export interface LstmMeta {
  format: typeof META_FORMAT;
  shape: ModelShape;
  features: readonly string[];
  normalisation: string;
  createdAt: string;
  backend: string;
  training: {
    trace: string;
    provenance?: string;
    /** ISO times of the first and last minute of the training span. */
    from: string;
    to: string;
    split: number;
    windows: number;
    /** With augmentation: the real windows among `windows`, the copies and their settings. */
    realWindows?: number;
    augmentCopies?: number;
    augmentStride?: number;
    augment?: AugmentOptions;
    validationWindows: number;
    epochs: number;
    bestEpoch: number;
    batchSize: number;
    learningRate: number;
    /** Minutes between two training windows. */
    stride?: number;
    seed: number;
    /** With `train --restarts`: every training's seed and best validation loss; `seed` is the one kept. */
    restarts?: { seed: number; valLoss: number | null }[];
    dropRate: number;
    /** Minutes averaged into each point target (1 = raw). */
    targetSmoothing?: number;
    seconds: number;
    loss: number[];
    valLoss: (number | null)[];
  };
  /**
   * Multiplier per quantile level ("0.9") applied to the quantile outputs, chosen on the validation
   * span so each level's empirical coverage there matches it (split-conformal calibration).
   */
  calibration?: Record<string, number>;
  /** The model's own rolling-origin backtest on the held-out rest of the trace. */
  backtest?: Record<string, unknown>;
  /** Per-workload fine-tuned copies: the point forecast shrunk toward a baseline (blend.ts), chosen by the round. */
  blend?: Blend;
  /**
   * Per-workload fine-tuned copies: the owner's record of each blend's out-of-sample errors when it
   * published them (blend-record.ts), so a replica taking the workload over, or the owner after a
   * restart, continues it. Not checked here: a damaged one is not used, the weights still are.
   */
  blendRecord?: unknown;
  /** Set on per-workload fine-tuned copies. */
  fineTuned?: {
    workload: string;
    at: string;
    rounds: number;
    lastHoldoutLoss: number;
    baseHoldoutLoss: number;
    /** Epoch ms: the origin of the round (the schedule's last round, for a replica taking over). */
    origin?: number;
    /** Epoch ms: the first origin these weights answer (every replica switches at that minute). */
    from?: number;
  };
}

export function checkMeta(meta: unknown, where: string): LstmMeta {
  const m = meta as Partial<LstmMeta>;
  if (!m || m.format !== META_FORMAT || !m.shape) throw new Error(`${where}: not an Amadeus LSTM model (meta.json format ${JSON.stringify(m?.format)})`);
  // Inputs are positional: weights trained on another feature list would read the wrong columns.
  if (JSON.stringify(m.features) !== JSON.stringify(FEATURES)) {
    throw new Error(`${where}: the model was trained on the input features ${JSON.stringify(m.features)}, this version computes ${JSON.stringify(FEATURES)}: retrain it with \`amadeus train\``);
  }
  if (m.blend !== undefined && !isBlend(m.blend)) throw new Error(`${where}: blend must be {baseline: ${BLEND_BASELINES.join('|')}, weight in [0, 1)}, got ${JSON.stringify(m.blend).slice(0, 100)}`);
  return m as LstmMeta;
}
