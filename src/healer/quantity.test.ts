import { ceilToMebibytes, floorToMebibytes, formatMebibytes, GiB, MiB, parseMemoryQuantity, parseOptionalMemory, QuantityError } from './quantity.js';

describe('parseMemoryQuantity', () => {
  test.each([
    ['128974848', 128974848],
    ['129e6', 129_000_000],
    ['129E6', 129_000_000],
    ['1e3', 1000],
    ['129M', 129_000_000],
    ['123Mi', 123 * MiB],
    ['1k', 1000],
    ['1G', 1_000_000_000],
    ['1Gi', GiB],
    ['1.5Gi', 1.5 * GiB],
    ['.5Gi', GiB / 2],
    ['2.', 2],
    ['500Ki', 500 * 1024],
    ['1Ti', 1024 * GiB],
    ['1Pi', 1024 * 1024 * GiB],
    ['1E', 1e18], // exa, not an exponent
    ['1Ei', 2 ** 60],
    ['0', 0],
    ['+64Mi', 64 * MiB],
    ['-0', 0],
    [' 256Mi ', 256 * MiB], // hand-typed annotation
    // milli: legal, nonsense for memory, but exact: bytes / 1000, rounded up like Quantity.Value()
    ['128974848000m', 128974848],
    ['1500m', 2],
    ['1m', 1],
    ['0.1', 1], // fractions of a byte round up
    ['1e-3', 1],
    ['1.0000001Gi', 1073741932], // ceil(1073741824 * 1.0000001)
  ])('%j → %d bytes', (input, bytes) => {
    expect(parseMemoryQuantity(input)).toBe(bytes);
  });

  test('numbers are bytes', () => {
    expect(parseMemoryQuantity(1024)).toBe(1024);
    expect(parseMemoryQuantity(10.2)).toBe(11);
  });

  test.each([
    ['', /empty/],
    ['   ', /empty/],
    ['abc', /expected a number/],
    ['1Gb', /expected a number/],
    ['1 Gi', /expected a number/],
    ['1gi', /expected a number/],
    ['1K', /expected a number/], // the decimal kilo is lowercase k
    ['1e', /expected a number/],
    ['Gi', /expected a number/],
    ['1.2.3', /expected a number/],
    ['0x10', /expected a number/],
    ['-1Gi', /negative/],
    ['1e50', /too large/],
    ['9Ei', /too large/],
  ])('rejects %j', (input, reason) => {
    expect(() => parseMemoryQuantity(input)).toThrow(QuantityError);
    expect(() => parseMemoryQuantity(input)).toThrow(reason);
  });

  test('the error names the input', () => {
    expect(() => parseMemoryQuantity('lots')).toThrow('invalid memory quantity "lots"');
  });

  test.each([Number.NaN, -1, Number.POSITIVE_INFINITY])('rejects the number %d', (n) => {
    expect(() => parseMemoryQuantity(n)).toThrow(QuantityError);
  });

  test('parseOptionalMemory: unset is null', () => {
    expect(parseOptionalMemory(undefined)).toBeNull();
    expect(parseOptionalMemory(null)).toBeNull();
    expect(parseOptionalMemory('1Ki')).toBe(1024);
  });
});

describe('formatMebibytes', () => {
  test.each([
    [0, '0Mi'],
    [1, '1Mi'], // rounded up
    [MiB, '1Mi'],
    [MiB + 1, '2Mi'],
    [256 * MiB, '256Mi'],
    [1_000_000_000, '954Mi'], // 953.67Mi
    [GiB, '1024Mi'],
  ])('%d → %s', (bytes, text) => {
    expect(formatMebibytes(bytes)).toBe(text);
  });

  test('round-trips through the parser without shrinking', () => {
    for (const bytes of [1, 1_000_000_000, 123_456_789, 8 * GiB]) {
      expect(parseMemoryQuantity(formatMebibytes(bytes))).toBeGreaterThanOrEqual(bytes);
      expect(parseMemoryQuantity(formatMebibytes(bytes))).toBe(ceilToMebibytes(bytes));
    }
  });

  test('rejects negative and non-finite sizes', () => {
    expect(() => formatMebibytes(-1)).toThrow(RangeError);
    expect(() => formatMebibytes(Number.NaN)).toThrow(RangeError);
  });

  test('floorToMebibytes', () => {
    expect(floorToMebibytes(1_000_000_000)).toBe(953 * MiB);
    expect(floorToMebibytes(GiB)).toBe(GiB);
  });
});
