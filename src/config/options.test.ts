import { boolean, integer } from './fields.js';
import { option, parseOptions, UsageError } from './options.js';

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
