/**
 * Declarative string → typed value parsing, shared by the ScaledObject metadata (from KEDA) and
 * the process configuration (flags and environment). A schema is a plain object of field specs;
 * parsing reports every bad key at once, each with the form it expected.
 */

export interface FieldSpec<T> {
  /** The expected form, for error messages and docs, e.g. "a number > 0". */
  readonly expected: string;
  /** Converts a raw string; throws (any Error) when it does not match `expected`. */
  parse(raw: string): T;
  /** Used when the key is absent; `undefined` with `required` false means "optional, no default". */
  readonly default?: T;
  readonly required: boolean;
  /** True for booleans: a command-line flag may then stand alone, meaning "true". */
  readonly standalone?: boolean;
}

export type Schema = Record<string, FieldSpec<unknown>>;
// Inferred from `parse` alone: the optional `default` would otherwise add `undefined` to every type.
export type Parsed<S extends Schema> = { [K in keyof S]: S[K] extends { parse(raw: string): infer T } ? T : never };

/** One bad key: the message names the key and the expected form. */
export interface FieldProblem {
  key: string;
  message: string;
}

export class FieldsError extends Error {
  override name = 'FieldsError';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => p.message).join('; '));
  }
}

interface Common<T> {
  default?: T;
  required?: boolean;
}

// A field is either required or has a default; `optional()` makes the third kind explicit, so the
// parsed type never claims a value that may be absent.
function spec<T>(expected: string, parse: (raw: string) => T, opts: Common<T>): FieldSpec<T> {
  const required = opts.required ?? false;
  if (required === (opts.default !== undefined)) throw new Error('a field must be either required or have a default (or use optional())');
  return { expected, parse, default: opts.default, required };
}

/** A field that may be absent, parsed as `undefined` then. */
export function optional<T>(field: Omit<FieldSpec<T>, 'default' | 'required'>): FieldSpec<T | undefined> {
  return { ...field, default: undefined, required: false };
}

// Plain decimal notation only: Number() alone would accept "0x10", "" and "Infinity".
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

interface NumberOpts extends Common<number> {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  gt?: number;
  /** Inclusive upper bound. */
  max?: number;
}

function describeRange(kind: string, o: NumberOpts): string {
  const parts: string[] = [];
  if (o.gt !== undefined) parts.push(`> ${o.gt}`);
  if (o.min !== undefined) parts.push(`>= ${o.min}`);
  if (o.max !== undefined) parts.push(`<= ${o.max}`);
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

function checkRange(n: number, o: NumberOpts): boolean {
  return (o.gt === undefined || n > o.gt) && (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max);
}

export function number(o: NumberOpts): FieldSpec<number> {
  const expected = describeRange('a number', o);
  return spec(expected, (raw) => {
    const s = raw.trim();
    const n = DECIMAL.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(n) || !checkRange(n, o)) throw new Error(expected);
    return n;
  }, o);
}

export function integer(o: NumberOpts): FieldSpec<number> {
  const expected = describeRange('an integer', o);
  return spec(expected, (raw) => {
    const s = raw.trim();
    const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n) || !checkRange(n, o)) throw new Error(expected);
    return n;
  }, o);
}

export function oneOf<const V extends string>(values: readonly V[], o: Common<NoInfer<V>>): FieldSpec<V> {
  const expected = `one of ${values.map((v) => `"${v}"`).join(', ')}`;
  return spec<V>(expected, (raw) => {
    const s = raw.trim();
    if (!(values as readonly string[]).includes(s)) throw new Error(expected);
    return s as V;
  }, o);
}

interface TextOpts extends Common<string> {
  pattern?: RegExp;
  /** Replaces the generic description when a pattern is given. */
  expected?: string;
  maxLength?: number;
}

export function text(o: TextOpts): FieldSpec<string> {
  const expected = o.expected ?? 'a non-empty string';
  return spec(expected, (raw) => {
    const s = raw.trim();
    if (s === '' || (o.maxLength !== undefined && s.length > o.maxLength) || (o.pattern && !o.pattern.test(s))) {
      throw new Error(expected);
    }
    return s;
  }, o);
}

export function boolean(o: Common<boolean>): FieldSpec<boolean> {
  const expected = '"true" or "false"';
  const parse = (raw: string) => {
    const s = raw.trim().toLowerCase();
    if (s === 'true' || s === '1' || s === 'yes') return true;
    if (s === 'false' || s === '0' || s === 'no') return false;
    throw new Error(expected);
  };
  return { ...spec<boolean>(expected, parse, o), standalone: true };
}

/**
 * Parses `raw` against `schema`. Keys absent from `raw` (or empty, which is how an unset
 * environment variable or an empty YAML value arrives) take their default. Keys present in `raw`
 * but not in the schema are reported unless listed in `passThrough`, so a typo such as
 * `headRoom` fails loudly instead of being silently ignored.
 */
export function parseFields<S extends Schema>(
  schema: S,
  raw: Readonly<Record<string, string | undefined>>,
  options: { describeKey?: (key: string) => string; passThrough?: ReadonlySet<string>; rejectUnknown?: boolean } = {},
): Parsed<S> {
  const name = options.describeKey ?? ((k: string) => `"${k}"`);
  const problems: FieldProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema)) {
    const value = raw[key];
    if (value === undefined || value.trim() === '') {
      if (field.required) problems.push({ key, message: `${name(key)} is required: ${field.expected}` });
      else out[key] = field.default;
      continue;
    }
    try {
      out[key] = field.parse(value);
    } catch {
      problems.push({ key, message: `${name(key)} must be ${field.expected}, got ${JSON.stringify(value)}` });
    }
  }
  if (options.rejectUnknown ?? true) {
    for (const key of Object.keys(raw)) {
      if (key in schema || options.passThrough?.has(key)) continue;
      problems.push({ key, message: `${name(key)} is not a known key (known: ${Object.keys(schema).join(', ')})` });
    }
  }
  if (problems.length) throw new FieldsError(problems);
  return out as Parsed<S>;
}

/** Names separated by commas, each once, from `names`; the default: all of them. */
export function nameList<const V extends string>(what: string, names: readonly V[]): FieldSpec<V[]> {
  const expected = `${what} names separated by commas, from ${names.join(', ')}`;
  return {
    expected,
    required: false,
    default: [...names],
    parse(raw) {
      const list = raw.split(',').map((n) => n.trim());
      if (list.some((n) => !(names as readonly string[]).includes(n)) || new Set(list).size !== list.length) throw new Error(expected);
      return list as V[];
    },
  };
}

/** A set of names separated by commas, or `none` for the empty set; default: `defaults`. */
export function nameSet<const V extends string>(what: string, names: readonly V[], defaults: readonly V[]): FieldSpec<V[]> {
  const expected = `"none" or ${what} names separated by commas, from ${names.join(', ')}`;
  return {
    expected,
    required: false,
    default: [...defaults],
    parse(raw) {
      if (raw.trim() === 'none') return [];
      const list = raw.split(',').map((n) => n.trim());
      if (list.some((n) => !(names as readonly string[]).includes(n)) || new Set(list).size !== list.length) throw new Error(expected);
      return list as V[];
    },
  };
}
