import { boolean, FieldsError, integer, number, oneOf, optional, parseFields, text } from './fields.js';

describe('field primitives', () => {
  test.each([
    ['1', 1],
    [' 2.5 ', 2.5],
    ['1e3', 1000],
    ['.5', 0.5],
  ])('number parses %j', (raw, want) => {
    expect(number({ default: 0 }).parse(raw)).toBe(want);
  });

  test.each(['', 'abc', '0x10', 'Infinity', 'NaN', '1,5', '1 2'])('number rejects %j', (raw) => {
    expect(() => number({ default: 0 }).parse(raw)).toThrow('a number');
  });

  test('number bounds are described and enforced', () => {
    const f = number({ gt: 0, max: 10, required: true });
    expect(f.expected).toBe('a number > 0 and <= 10');
    expect(() => f.parse('0')).toThrow();
    expect(() => f.parse('10.5')).toThrow();
    expect(f.parse('10')).toBe(10);
  });

  test('integer rejects fractions and out-of-range values', () => {
    const f = integer({ min: 1, max: 5, default: 1 });
    expect(f.parse('3')).toBe(3);
    expect(() => f.parse('2.5')).toThrow('an integer >= 1 and <= 5');
    expect(() => f.parse('6')).toThrow();
  });

  test('oneOf, text, boolean', () => {
    expect(oneOf(['a', 'b'], { default: 'a' }).parse(' b ')).toBe('b');
    expect(() => oneOf(['a', 'b'], { default: 'a' }).parse('c')).toThrow('one of "a", "b"');
    expect(() => text({ pattern: /^x+$/, expected: 'only x', default: 'x' }).parse('y')).toThrow('only x');
    expect(boolean({ default: false }).parse('TRUE')).toBe(true);
    expect(boolean({ default: true }).parse('0')).toBe(false);
    expect(() => boolean({ default: false }).parse('maybe')).toThrow();
  });

  test('a field must be required or defaulted, unless made optional', () => {
    expect(() => number({})).toThrow('either required or have a default');
    expect(() => number({ required: true, default: 1 })).toThrow();
    expect(optional(number({ required: true })).required).toBe(false);
  });
});

describe('parseFields', () => {
  const schema = { a: number({ required: true }), b: integer({ default: 7, min: 0 }), c: optional(text({ required: true })) };

  test('applies defaults, keeps optional fields undefined, treats empty as absent', () => {
    expect(parseFields(schema, { a: '1', b: '' })).toEqual({ a: 1, b: 7, c: undefined });
  });

  test('reports every problem at once, each naming the key and the expected form', () => {
    try {
      parseFields(schema, { b: '-1', zzz: '1' });
      throw new Error('expected a FieldsError');
    } catch (err) {
      expect(err).toBeInstanceOf(FieldsError);
      const problems = (err as FieldsError).problems;
      expect(problems.map((p) => p.key)).toEqual(['a', 'b', 'zzz']);
      expect(problems[0]!.message).toBe('"a" is required: a number');
      expect(problems[1]!.message).toBe('"b" must be an integer >= 0, got "-1"');
      expect(problems[2]!.message).toContain('"zzz" is not a known key (known: a, b, c)');
    }
  });

  test('pass-through keys are accepted without being parsed', () => {
    expect(parseFields(schema, { a: '1', extra: 'x' }, { passThrough: new Set(['extra']) })).toEqual({ a: 1, b: 7, c: undefined });
  });
});
