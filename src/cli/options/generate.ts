/** `amadeus generate` options: write the synthetic workload as a trace CSV. */
import { SCENARIOS } from '../../sources/generator.js';
import { integer, number, oneOf, optional, SEED_MAX, text } from '../../config/fields.js';
import { option as o, type OptionSchema } from '../../config/options.js';

export const GENERATE_OPTIONS = {
  out: o(text({ required: true, expected: 'a file path' }), 'Where to write the CSV (timestamp,requests,observed).'),
  scenario: o(oneOf(SCENARIOS, { default: 'flash-sale' }), 'daily, flash-sale (daily cycle + weekday 12:00 sale + random surges), or random (a whole workload drawn from --seed).'),
  days: o(number({ min: 0.001, max: 366, default: 28 }), 'Length of the trace.'),
  start: o(text({ default: '2025-01-06T00:00:00Z', pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})$/, expected: 'an ISO-8601 time with offset' }), 'First minute.'),
  seed: o(integer({ min: 0, max: SEED_MAX, default: 1 }), 'Generator seed.'),
  peak: o(optional(number({ min: 0.001, max: 1e9, required: true })), 'Weekday peak, requests per second (default 100; with random, the level drawn from the seed).'),
  utcOffsetMinutes: o(integer({ min: -840, max: 840, default: 0 }), 'Local time offset of the workload (the cycle follows local time).'),
} satisfies OptionSchema;
