/** `amadeus train` options. */
import { DEFAULT_AUGMENT } from '../../forecast/lstm/augment.js';
import { backendOption } from './backend.js';
import { DEFAULT_SHAPE } from '../../forecast/lstm/model.js';
import { integer, number, SEED_MAX, text } from '../../config/fields.js';
import { option as o, type OptionSchema } from '../../config/options.js';
import type { FieldSpec } from '../../config/fields.js';

/** LO-HI whole minutes, 1 <= LO <= HI <= 1440. */
export function minuteRange(fallback: [number, number]): FieldSpec<[number, number]> {
  const expected = 'minutes as LO-HI (e.g. 10-45), 1 <= LO <= HI <= 1440';
  return {
    expected,
    default: fallback,
    required: false,
    show: ([lo, hi]) => `${lo}-${hi}`,
    parse(raw) {
      const m = /^\s*(\d{1,4})\s*-\s*(\d{1,4})\s*$/.exec(raw);
      const lo = Number(m?.[1]);
      const hi = Number(m?.[2]);
      if (!m || lo < 1 || lo > hi || hi > 1440) throw new Error(expected);
      return [lo, hi];
    },
  };
}

export const TRAIN_OPTIONS = {
  trace: o(text({ required: true, expected: 'a trace CSV path' }), 'Trace to train on (timestamp,requests[,observed]).'),
  out: o(text({ required: true, expected: 'a directory' }), 'Where to write model.json, weights.bin and meta.json.'),
  split: o(number({ min: 0.01, max: 1, default: 0.75 }), 'Share of the trace (from its start) used for training; the rest is the held-out backtest.'),
  validation: o(number({ min: 0, max: 0.5, default: 0.1 }), 'Share of the training span (its end) kept for validation and best-epoch selection.'),
  epochs: o(integer({ min: 1, max: 1000, default: 16 }), 'Training epochs.'),
  batchSize: o(integer({ min: 1, max: 65536, default: 256 }), 'Mini-batch size.'),
  learningRate: o(number({ min: 1e-6, max: 1, default: 0.003 }), 'Adam learning rate (cosine-decayed over the epochs).'),
  stride: o(integer({ min: 1, max: 1440, default: 2 }), 'Minutes between two training windows (2 halves the time at no measured loss of accuracy).'),
  units: o(integer({ min: 1, max: 1024, default: DEFAULT_SHAPE.units }), 'LSTM units.'),
  skipMinutes: o(integer({ min: 0, max: 60, default: 5 }), 'Last minutes of the window fed linearly to the outputs beside the LSTM (0: none).'),
  dropRate: o(number({ min: 0, max: 0.5, default: 0.03 }), 'Share of input minutes hidden as gaps during training (robustness to missing data).'),
  augmentCopies: o(integer({ min: 0, max: 16, default: 4 }), 'Augmented copies of the training span added to it: busier and quieter servers and level shifts (see src/forecast/lstm/augment.ts; 0: none).'),
  augmentShiftsPerDay: o(number({ min: 0, max: 100, default: DEFAULT_AUGMENT.shiftsPerDay }), 'Expected level shifts a day in an augmented copy (each up to 100× either way, ramped over 1–30 minutes).'),
  augmentSurgesPerDay: o(number({ min: 0, max: 100, default: DEFAULT_AUGMENT.surgesPerDay }), 'Expected surges a day in an augmented copy (each 1.25–5× for 5–180 minutes, building over 1–15 minutes, then ending; 0: none).'),
  augmentSmoothMinutes: o(minuteRange(DEFAULT_AUGMENT.smoothMinutes), 'Half-widths in minutes, as LO-HI, of the local rate a busier copy keeps (its deviations from it shrink by √k); each block draws one.'),
  augmentTrendAmplitude: o(number({ min: 0, max: 2, default: DEFAULT_AUGMENT.trendAmplitude }), 'Largest log-amplitude of each of the three slow sinusoids (periods 3–24 h) an augmented copy\'s level is multiplied by (0: no trend).'),
  augmentStride: o(integer({ min: 1, max: 1440, default: 4 }), 'Minutes between two windows of an augmented copy.'),
  targetSmoothing: o(integer({ min: 1, max: 15, default: 1 }), 'Minutes averaged (centred) into each point target: the rate behind a noisy per-minute count.'),
  seed: o(integer({ min: 0, max: SEED_MAX, default: 42 }), 'Seed for initial weights, shuffling and augmentation.'),
  restarts: o(integer({ min: 1, max: 16, default: 1 }), 'Trainings with seeds --seed, --seed + 1, …; the one with the lowest validation loss is kept and every one is recorded in meta.json (needs --validation above 0). The seed alone can move the model as much as a change of recipe.'),
  backend: backendOption(),
  provenance: o(text({ default: 'see the trace directory\'s PROVENANCE.md', expected: 'text' }), 'Where the trace came from, recorded in meta.json.'),
} satisfies OptionSchema;
