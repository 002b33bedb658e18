/** `amadeus eval` options: the rolling-origin backtest of design §5 on a trace file. */
import { DEFAULT_HORIZON, DEFAULT_SPLIT } from '../../eval/backtest.js';
import { MODEL_NAMES } from '../../eval/models.js';
import { boolean, integer, nameList, number, text, type FieldSpec } from '../../config/fields.js';
import { option, type OptionSchema } from '../../config/options.js';

const o = option;

/** `number` has no exclusive upper bound, and a split of 1 would leave nothing to evaluate. */
export function split(): FieldSpec<number> {
  const base = number({ min: 0, max: 1, default: DEFAULT_SPLIT });
  return {
    ...base,
    expected: 'a number >= 0 and < 1',
    parse(raw) {
      const n = base.parse(raw);
      if (n >= 1) throw new Error('split must be < 1');
      return n;
    },
  };
}

export const EVAL_OPTIONS = {
  trace: o(text({ required: true, expected: 'a trace CSV file path' }), 'The trace to evaluate on: timestamp,requests[,observed], one row per minute.'),
  horizon: o(integer({ min: 1, max: 1440, default: DEFAULT_HORIZON }), 'Minutes ahead at which forecasts are scored.'),
  models: o(nameList('model', MODEL_NAMES), 'Models to evaluate.'),
  split: o(split(), 'Share of the trace before the evaluated span (0.75: origins in the last 25%).'),
  json: o(boolean({ default: false }), 'Print one JSON object instead of a table.'),
  model: o(text({ default: 'models/nasa-lstm', expected: 'a directory' }), 'The pre-trained LSTM for lstm-pretrained and lstm-finetuned.'),
  fineTuneBlend: o(boolean({ default: true }), 'As serve\'s --fine-tune-blend: lstm-finetuned\'s rounds also shrink its point forecast toward persistence, mean10, mean30, days3 (the median of the last three weekdays\' same minutes) or holt-winters (over the two days before) (--no-fine-tune-blend: they do not).'),
} satisfies OptionSchema;
