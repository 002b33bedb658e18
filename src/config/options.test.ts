import { boolean, integer } from './fields.js';
import { editDistance } from './closest.js';
import { option, parseOptions, unreadEnv, UsageError } from './options.js';

const schema = { fineTune: option(boolean({ default: true }), ''), count: option(integer({ default: 1 }), '') };

test.each([
  [['--fine-tune'], true],
  [['--fine-tune', 'false'], false],
  [['--fine-tune=false'], false],
  [['--no-fine-tune'], false],
  [[], true],
])('boolean flag %j', (argv, want) => {
  expect(parseOptions(schema, argv, {}).fineTune).toBe(want);
});

test('flags win over the environment, which wins over defaults', () => {
  expect(parseOptions(schema, [], { AMADEUS_COUNT: '5' }).count).toBe(5);
  expect(parseOptions(schema, ['--count', '7'], { AMADEUS_COUNT: '5' }).count).toBe(7);
  expect(() => parseOptions(schema, ['--no-count'], {})).toThrow(UsageError);
});

// A misspelt variable (AMADEUS_HEAL_NAMESPACE for AMADEUS_HEAL_NAMESPACES) left its option at the
// default without a word.
test('unreadEnv: the AMADEUS_* variables no option reads, each with the option variable it most likely meant', () => {
  const env = { AMADEUS_COUNTS: '3', AMADEUS_FINE_TUNE: 'true', AMADEUS_FINETUNE: 'false', AMADEUS_SHAPE: 'flash-sale', AMADEUS_: 'x', PATH: '/bin', amadeus_count: '1' };
  expect(unreadEnv(schema, env)).toEqual([
    { variable: 'AMADEUS_', closest: null },
    { variable: 'AMADEUS_COUNTS', closest: 'AMADEUS_COUNT' },
    { variable: 'AMADEUS_FINETUNE', closest: 'AMADEUS_FINE_TUNE' },
    { variable: 'AMADEUS_SHAPE', closest: null }, // another tool's: nothing near
  ]);
  expect(unreadEnv(schema, { AMADEUS_COUNT: '1' })).toEqual([]);
});

test('editDistance', () => {
  expect(editDistance('kitten', 'sitting')).toBe(3);
  expect(editDistance('', 'abc')).toBe(3);
  expect(editDistance('same', 'same')).toBe(0);
});
