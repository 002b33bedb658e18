/**
 * Kubernetes resource quantities, memory only: parse to bytes, format as whole mebibytes.
 *
 * The grammar is the one of `k8s.io/apimachinery/pkg/api/resource.Quantity`:
 *
 *     quantity   ::= [sign] number [suffix]
 *     number     ::= digits | digits "." [digits] | "." digits
 *     suffix     ::= binarySI | decimalSI | ("e" | "E") [sign] digits
 *     binarySI   ::= Ki | Mi | Gi | Ti | Pi | Ei           (powers of 1024)
 *     decimalSI  ::= m | "" | k | M | G | T | P | E        (powers of 1000; m is milli)
 *
 * `1E` is one exabyte (the decimal suffix), `1E3` is 1000 (an exponent), as in Kubernetes.
 * The arithmetic is exact (BigInt) and fractional bytes are rounded **up**, like
 * `Quantity.Value()`: `1500m` is 1.5 bytes, so 2. Negative quantities are rejected: they parse
 * in Kubernetes but mean nothing as a memory size. Values above 2^63 - 1 bytes (the int64
 * range of a Quantity) are rejected too; values above 2^53 (8 PiB) lose precision in the
 * returned `number`, which is harmless for memory limits.
 */

/** One mebibyte in bytes. */
export const MiB = 1024 * 1024;
/** One gibibyte in bytes. */
export const GiB = 1024 * MiB;

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { m: -1, '': 0, k: 1, M: 2, G: 3, T: 4, P: 5, E: 6 };
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$/;
const INT64_MAX = (1n << 63n) - 1n;
/** Beyond this exponent the value is out of the int64 range anyway; refusing early keeps BigInt cheap. */
const MAX_EXPONENT = 40;

/** Raised for anything that is not a valid, non-negative memory quantity. */
export class QuantityError extends Error {
  constructor(
    readonly input: unknown,
    reason: string,
  ) {
    super(`invalid memory quantity ${JSON.stringify(input)}: ${reason}`);
    this.name = 'QuantityError';
  }
}

/**
 * Parses a memory quantity (`"128974848"`, `"129e6"`, `"129M"`, `"123Mi"`, `"1.5Gi"`, `"500Ki"`,
 * `"1k"`, `"1E"`, `"128974848000m"`...) into bytes, rounded up to a whole byte. A finite,
 * non-negative number is taken as bytes. Surrounding whitespace is tolerated (annotations are
 * typed by hand); anything else that Kubernetes would not accept throws a {@link QuantityError}.
 */
export function parseMemoryQuantity(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new QuantityError(input, 'must be a finite, non-negative number of bytes');
    return Math.ceil(input);
  }
  if (typeof input !== 'string') throw new QuantityError(input, 'must be a string');
  const text = input.trim();
  if (text === '') throw new QuantityError(input, 'empty');
  const m = QUANTITY.exec(text);
  if (!m) throw new QuantityError(input, 'expected a number with an optional suffix (Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E, m or an exponent like e6)');
  const [, sign, number, suffix = ''] = m;
  const [whole, fraction = ''] = number.split('.');
  const mantissa = BigInt((whole || '0') + fraction);
  if (sign === '-' && mantissa !== 0n) throw new QuantityError(input, 'a memory size cannot be negative');

  let numerator = mantissa;
  let denominator = 10n ** BigInt(fraction.length);
  if (suffix in BINARY) {
    numerator *= 1n << BigInt(10 * BINARY[suffix]);
  } else {
    const exponent = suffix in DECIMAL ? 3 * DECIMAL[suffix] : Number(suffix.slice(1));
    if (exponent > MAX_EXPONENT) throw new QuantityError(input, 'too large');
    if (exponent < -MAX_EXPONENT) return mantissa === 0n ? 0 : 1; // a sliver of a byte, rounded up
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  const bytes = (numerator + denominator - 1n) / denominator; // ceil: both are non-negative
  if (bytes > INT64_MAX) throw new QuantityError(input, 'too large (beyond the int64 range of a Kubernetes quantity)');
  return Number(bytes);
}

/** Like {@link parseMemoryQuantity}, but `undefined`/`null` (no quantity set) gives `null`. */
export function parseOptionalMemory(input: string | number | null | undefined): number | null {
  return input === undefined || input === null ? null : parseMemoryQuantity(input);
}

/** Formats bytes as whole mebibytes, rounded **up** so the value never shrinks: 1 byte is `"1Mi"`. */
export function formatMebibytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`cannot format ${bytes} bytes as a memory quantity`);
  return `${Math.ceil(bytes / MiB)}Mi`;
}

/** Rounds bytes up to a whole number of mebibytes (the value {@link formatMebibytes} writes). */
export function ceilToMebibytes(bytes: number): number {
  return Math.ceil(bytes / MiB) * MiB;
}

/** Rounds bytes down to a whole number of mebibytes (used for caps, which must never be exceeded). */
export function floorToMebibytes(bytes: number): number {
  return Math.floor(bytes / MiB) * MiB;
}
