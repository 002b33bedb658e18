/**
 * Declarative string → typed value parsing, shared by the ScaledObject metadata (from KEDA) and
 * the process configuration (flags and environment). A schema is a plain object of field specs;
 * parsing reports every bad key at once, each with the form it expected.
 *
 * Every message is bounded: it goes back to KEDA in a gRPC trailer (and from there into the
 * ScaledObject's status), where a message of ~100 KB makes the client drop the connection. A bad
 * key or value is quoted cut to a few dozen characters, and a whole error is at most
 * MAX_MESSAGE_LENGTH characters, the problems beyond it counted ("and 9,999 more").
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
  /** How the default reads in help text (default: String(value)). */
  show?(value: T): string;
}

export type Schema = Record<string, FieldSpec<unknown>>;
// Inferred from `parse` alone: the optional `default` would otherwise add `undefined` to every type.
export type Parsed<S extends Schema> = { [K in keyof S]: S[K] extends { parse(raw: string): infer T } ? T : never };

/** One bad key: the message names the key and the expected form. */
export interface FieldProblem {
  key: string;
  message: string;
}

/** Most characters of a FieldsError's message (and of any error text sent to a gRPC client). */
export const MAX_MESSAGE_LENGTH = 1024;
/** Most characters of a bad value quoted in a message; of an unknown key, KEY_QUOTE_LENGTH. */
export const VALUE_QUOTE_LENGTH = 60;
const KEY_QUOTE_LENGTH = 40;

function escapeCutting(s: string, max: number): { text: string; cut: boolean } {
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const piece = c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : c >= 0x20 && c <= 0x7e ? s[i]! : '\\u' + c.toString(16).padStart(4, '0');
    if (text.length + piece.length > max) return { text: text + '...', cut: true };
    text += piece;
  }
  return { text, cut: false };
}

/**
 * `s` escaped as inside a JSON string, ASCII only (so its length is its size on the wire), cut to
 * at most `max` characters, with `...` when cut. Reads only the start of `s`, however long.
 */
export function escapeCut(s: string, max: number): string {
  return escapeCutting(s, max).text;
}

/** `s` quoted for a message: `"abc"`, or `"abc..." (1048576 characters)` when cut. */
export function quote(s: string, max = VALUE_QUOTE_LENGTH): string {
  const { text, cut } = escapeCutting(s, max);
  return cut ? `"${text}" (${s.length} characters)` : `"${text}"`;
}

/** `text` cut to `max` characters, with `...` when cut. */
export function capText(text: string, max = MAX_MESSAGE_LENGTH): string {
  return text.length <= max ? text : text.slice(0, max - 3) + '...';
}

/**
 * Messages joined by "; ", at most `max` characters: those that do not fit are counted
 * ("; and 12 more problems") rather than listed.
 */
export function joinMessages(messages: readonly string[], max = MAX_MESSAGE_LENGTH): string {
  const room = max - 40; // for the count
  let out = '';
  for (let i = 0; i < messages.length; i++) {
    const next = (i === 0 ? '' : '; ') + messages[i];
    const last = i === messages.length - 1;
    if (out.length + next.length > (last ? max : room)) {
      if (i === 0) out = capText(messages[0]!, room);
      const more = messages.length - (i === 0 ? 1 : i);
      return more > 0 ? `${out}; and ${more} more problem${more === 1 ? '' : 's'}` : out;
    }
    out += next;
  }
  return out;
}

/** Thrown by a field's `parse` to say where a value is wrong; the message follows the expected form. */
export class FieldDetail extends Error {
  override name = 'FieldDetail';
}

export class FieldsError extends Error {
  override name = 'FieldsError';
  constructor(readonly problems: FieldProblem[]) {
    super(joinMessages(problems.map((p) => p.message)));
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

/** Largest seed: generators use a seed's low 32 bits, so larger ones would repeat smaller ones. */
export const SEED_MAX = 2 ** 32 - 1;

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

/** 1e9 rather than 1000000000; 2592000 and 0.001 as they are. */
export function formatBound(n: number): string {
  const plain = String(n);
  const exp = n.toExponential().replace('e+', 'e');
  return Math.abs(n) >= 1e6 && exp.length < plain.length ? exp : plain;
}

function describeRange(kind: string, o: NumberOpts): string {
  const parts: string[] = [];
  if (o.gt !== undefined) parts.push(`> ${formatBound(o.gt)}`);
  if (o.min !== undefined) parts.push(`>= ${formatBound(o.min)}`);
  if (o.max !== undefined) parts.push(`<= ${formatBound(o.max)}`);
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
  /** What a pattern cannot say (a port's range, a URL that parses), checked after it. */
  check?: (s: string) => boolean;
}

export function text(o: TextOpts): FieldSpec<string> {
  const expected = o.expected ?? 'a non-empty string';
  return spec(expected, (raw) => {
    const s = raw.trim();
    if (s === '' || (o.maxLength !== undefined && s.length > o.maxLength) || (o.pattern && !o.pattern.test(s)) || (o.check && !o.check(s))) {
      throw new Error(expected);
    }
    return s;
  }, o);
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * A `host:port` address (`[v6]:port` too). A listen address may take port 0, any free port (the
 * tests' choice); a target address (`minPort` 1) may not.
 */
export function hostPort(o: Common<string> & { minPort: 0 | 1 }): FieldSpec<string> {
  const expected = `host:port, the port ${o.minPort}-65535${o.minPort === 0 ? ' (0: any free port)' : ''}`;
  const inRange = (s: string) => {
    const port = Number(HOST_PORT.exec(s)![2]);
    return port >= o.minPort && port <= 65535;
  };
  return text({ default: o.default, required: o.required, pattern: HOST_PORT, expected, check: inRange });
}

/** An http(s) URL that parses (a port past 65535 does not), credentials allowed. */
export function httpUrl(o: Common<string> & { expected?: string; pattern?: RegExp }): FieldSpec<string> {
  return text({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, expected: 'an http(s) URL', ...o, check: (s) => URL.canParse(s) });
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
 * `headRoom` fails loudly instead of being silently ignored. Only the schema's own keys are known:
 * `constructor`, `toString` or `__proto__` (inherited by every object) are unknown keys.
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
    const value = Object.hasOwn(raw, key) ? raw[key] : undefined;
    if (value === undefined || value.trim() === '') {
      if (field.required) problems.push({ key, message: `${name(key)} is required: ${field.expected}` });
      else out[key] = field.default;
      continue;
    }
    try {
      out[key] = field.parse(value);
    } catch (err) {
      const detail = err instanceof FieldDetail ? `: ${err.message}` : '';
      problems.push({ key, message: `${name(key)} must be ${field.expected}, got ${quote(value)}${detail}` });
    }
  }
  if (options.rejectUnknown ?? true) {
    let listed = false;
    for (const key of Object.keys(raw)) {
      if (Object.hasOwn(schema, key) || options.passThrough?.has(key)) continue;
      // The known keys once, with the first unknown one: not once per key of a huge map.
      const known = listed ? '' : ` (known: ${capText(Object.keys(schema).join(', '), 600)})`;
      listed = true;
      problems.push({ key, message: `${name(escapeCut(key, KEY_QUOTE_LENGTH))} is not a known key${known}` });
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
