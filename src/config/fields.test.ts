import { boolean, FieldsError, formatBound, hostPort, httpUrl, integer, joinMessages, MAX_MESSAGE_LENGTH, number, oneOf, optional, parseFields, quote, text } from './fields.js';

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

  // 127.0.0.1:99999 passed (five digits) and failed only when serve bound it, with exit 1.
  test('hostPort: a port within 0-65535 for a listen address, 1-65535 for a target', () => {
    const listen = hostPort({ minPort: 0, default: '0.0.0.0:6000' });
    for (const ok of ['127.0.0.1:0', '0.0.0.0:65535', '[::]:6000', 'scaler.local:1']) expect(listen.parse(ok)).toBe(ok);
    for (const bad of ['127.0.0.1:99999', '127.0.0.1:65536', 'nowhere', ':6000', '127.0.0.1:']) expect(() => listen.parse(bad)).toThrow('host:port, the port 0-65535 (0: any free port)');
    const target = hostPort({ minPort: 1, default: '127.0.0.1:6000' });
    expect(target.parse('127.0.0.1:65535')).toBe('127.0.0.1:65535');
    for (const bad of ['127.0.0.1:0', '127.0.0.1:70000']) expect(() => target.parse(bad)).toThrow('host:port, the port 1-65535');
  });

  test('httpUrl: a URL that parses, its port within range', () => {
    const f = httpUrl({ required: true });
    expect(f.parse('http://user:secret@127.0.0.1:9090/prom')).toBe('http://user:secret@127.0.0.1:9090/prom');
    for (const bad of ['http://127.0.0.1:99999', 'http://[::1:9090', 'ftp://h:21', 'prometheus:9090']) expect(() => f.parse(bad)).toThrow('an http(s) URL');
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

describe('bounded messages (a message goes back to KEDA in a gRPC trailer)', () => {
  const schema = { targetValue: number({ gt: 0, required: true }), mode: oneOf(['a', 'b'], { default: 'a' }) };
  const problemsOf = (raw: Record<string, string>) => {
    try {
      parseFields(schema, raw);
    } catch (err) {
      if (err instanceof FieldsError) return err;
      throw err;
    }
    throw new Error('expected a FieldsError');
  };

  test('a huge value is quoted cut, with its length; the quote is ASCII, escaped as in JSON', () => {
    expect(quote('abc')).toBe('"abc"');
    expect(quote('x'.repeat(1 << 20))).toBe(`"${'x'.repeat(60)}..." (1048576 characters)`);
    expect(quote('a"b\\c\né')).toBe('"a\\"b\\\\c\\u000a\\u00e9"');
    expect(quote('é'.repeat(1000))).toMatch(/^"(\\u00e9){10}\.\.\." \(1000 characters\)$/);
  });

  test('a 1 MB value and 10,000 unknown keys: one short message naming the field, the rest counted', () => {
    const raw: Record<string, string> = { targetValue: 'x'.repeat(1 << 20) };
    for (let i = 0; i < 10_000; i++) raw[`unknown${i}`] = 'v';
    raw['k'.repeat(100_000)] = '1';
    const err = problemsOf(raw);
    expect(err.problems).toHaveLength(10_002); // every problem is kept for the caller…
    expect(err.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH); // …the message is bounded
    expect(err.message).toMatch(/^"targetValue" must be a number > 0, got "x{60}\.\.\." \(1048576 characters\); "unknown0" is not a known key \(known: targetValue, mode\); "unknown1" is not a known key; /);
    expect(err.message).toMatch(/; and \d+ more problems$/);
    // The known keys are listed once, not once per unknown key.
    expect(err.message.match(/known: /g)).toHaveLength(1);
    // A huge unknown key is cut too.
    expect(err.problems.at(-1)!.message).toBe(`"${'k'.repeat(40)}..." is not a known key`);
  });

  test('joinMessages keeps whole messages while they fit and counts the rest', () => {
    expect(joinMessages(['a', 'b'])).toBe('a; b');
    expect(joinMessages(['a'.repeat(600), 'b'.repeat(600), 'c'])).toBe(`${'a'.repeat(600)}; and 2 more problems`);
    expect(joinMessages(['z'.repeat(5000)]).length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(joinMessages(['z'.repeat(5000), 'y']).length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  });

  test.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('%s (inherited by every object) is an unknown key', (key) => {
    // JSON.parse makes "__proto__" an own key, as protobufjs decodes a map entry of that name.
    const raw = JSON.parse(`{"targetValue": "1", ${JSON.stringify(key)}: "1"}`) as Record<string, string>;
    expect(problemsOf(raw).message).toBe(`"${key}" is not a known key (known: targetValue, mode)`);
  });

  test('a schema key is read from the map\'s own keys only', () => {
    const inherited = Object.create({ targetValue: '5' }) as Record<string, string>;
    expect(problemsOf(inherited).message).toBe('"targetValue" is required: a number > 0');
  });

  test('bounds read as written: 1e9 rather than 1000000000', () => {
    expect([1e9, 1e12, 2_592_000, 604800, 0.001, 1e-6, 10].map(formatBound)).toEqual(['1e9', '1e12', '2592000', '604800', '0.001', '0.000001', '10']);
    expect(number({ min: 0.001, max: 1e12, required: true }).expected).toBe('a number >= 0.001 and <= 1e12');
  });
});
