/**
 * Every number Amadeus reads — ScaledObject metadata and every command's flags — has a sane range:
 * no value so small that dividing by it overflows (targetValue=1e-320 once announced "Infinity
 * pods"), none so large it stops being a number in the arithmetic behind it.
 */
import { metadataSchema } from '../../scaler/metadata.js';
import type { FieldSpec } from '../../config/fields.js';
import { EVAL_OPTIONS } from './eval.js';
import { GENERATE_OPTIONS } from './generate.js';
import { PROBE_OPTIONS } from './probe.js';
import { SERVE_OPTIONS } from './serve.js';
import { SIMULATE_OPTIONS } from './simulate.js';
import { TRAIN_OPTIONS } from './train.js';
import type { OptionSchema } from '../../config/options.js';

const fieldsOf = (options: OptionSchema) => Object.entries(options).map(([k, o]) => [k, o.field] as const);
const numeric = (fields: (readonly [string, FieldSpec<unknown>])[]) => fields.filter(([, f]) => /^an? (number|integer)\b/.test(f.expected));
const parses = (f: FieldSpec<unknown>, raw: string) => {
  try {
    f.parse(raw);
    return true;
  } catch {
    return false;
  }
};

const SCHEMAS: [string, (readonly [string, FieldSpec<unknown>])[]][] = [
  ['metadata', Object.entries(metadataSchema())],
  ['serve', fieldsOf(SERVE_OPTIONS)],
  ['simulate', fieldsOf(SIMULATE_OPTIONS)],
  ['eval', fieldsOf(EVAL_OPTIONS)],
  ['train', fieldsOf(TRAIN_OPTIONS)],
  ['generate', fieldsOf(GENERATE_OPTIONS)],
  ['probe', fieldsOf(PROBE_OPTIONS)],
];

describe.each(SCHEMAS)('%s: every number has a sane range', (_name, fields) => {
  test.each(numeric(fields).map(([k, f]) => [k, f] as const))('%s', (_key, field) => {
    // An upper bound, on both sides.
    for (const huge of ['1e300', '-1e300', '9007199254740991', '-9007199254740991']) expect(parses(field, huge)).toBe(false);
    // A tiny positive value is either refused or as harmless as the zero the field also accepts.
    if (parses(field, '1e-300')) expect(parses(field, '0')).toBe(true);
    // The default is inside the range it states.
    if (typeof field.default === 'number') expect(parses(field, String(field.default))).toBe(true);
  });
});

test('the numbers the issue found are refused, naming the key', () => {
  const schema = metadataSchema();
  expect(() => schema.targetValue.parse('1e-320')).toThrow('a number >= 0.001 and <= 1e12');
  expect(() => schema.timeoutSeconds.parse('1e-300')).toThrow('a number >= 0.1 and <= 300');
  expect(schema.targetValue.parse('0.001')).toBe(0.001);
  expect(schema.targetValue.parse('1e12')).toBe(1e12);
});

test('train --augment-smooth-minutes: LO-HI whole minutes, shown as it is written', () => {
  const field = TRAIN_OPTIONS.augmentSmoothMinutes.field;
  expect(field.parse('60-180')).toEqual([60, 180]);
  expect(field.parse(' 10 - 45 ')).toEqual([10, 45]);
  expect(field.show?.([10, 45])).toBe('10-45');
  for (const bad of ['180-60', '0-10', '10-1441', '10', '1e2-200', '-5-5', 'x']) expect(parses(field, bad)).toBe(false);
});

test('--report-seeds: a range of seeds, bounded in count and value', () => {
  const field = SIMULATE_OPTIONS.reportSeeds.field;
  expect(field.parse('201-203')).toEqual([201, 202, 203]);
  expect(field.parse('7')).toEqual([7]);
  for (const bad of ['210-201', '1-1000', '1e3', '-5', '4294967296', '1,2', 'x']) expect(parses(field, bad)).toBe(false);
});
