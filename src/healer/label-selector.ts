/**
 * Kubernetes label selectors, parsed as the API server parses `labelSelector` (apimachinery's
 * labels.Parse) so that --heal-pod-selector is refused at start-up: one the server refuses fails
 * every pod list and watch with HTTP 400, for ever. Requirements separated by commas: `key=value`,
 * `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key` (exists), `!key`.
 * Keys are `[prefix/]name` (a DNS-subdomain prefix); values follow the label value rules.
 */
import { quote } from '../config/fields.js';

export type Operator = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin';
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export class LabelSelectorError extends Error {
  override name = 'LabelSelectorError';
}

interface Token {
  /** An identifier, or the symbol itself. */
  kind: 'id' | '!' | '=' | '==' | '!=' | '(' | ')' | ',';
  text: string;
  /** 1-based character position, for the message. */
  at: number;
}

// The symbols the server's lexer splits on; `<` and `>` (its gt / lt) are not for label values.
const SYMBOLS = /[!=(),<>]/;

function lex(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '<' || c === '>') {
      throw new LabelSelectorError(`operator "${c}" at character ${i + 1} is not one for labels (=, ==, !=, in, notin)`);
    } else if ((c === '!' || c === '=') && s[i + 1] === '=') {
      tokens.push({ kind: c === '!' ? '!=' : '==', text: c + '=', at: i + 1 });
      i += 2;
    } else if (SYMBOLS.test(c)) {
      tokens.push({ kind: c as Token['kind'], text: c, at: i + 1 });
      i++;
    } else {
      const start = i;
      while (i < s.length && !/\s/.test(s[i]!) && !SYMBOLS.test(s[i]!)) i++;
      tokens.push({ kind: 'id', text: s.slice(start, i), at: start + 1 });
    }
  }
  return tokens;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `key` is no label key (`[prefix/]name`), or null. */
export function labelKeyProblem(key: string): string | null {
  const slash = key.indexOf('/');
  const [prefix, name] = slash < 0 ? [null, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== null) {
    const labels = prefix.split('.');
    if (prefix.length > 253 || !labels.every((l) => l.length <= 63 && DNS_LABEL.test(l))) return `key ${quote(key)}: its prefix must be a lower-case DNS subdomain (at most 253 characters)`;
  }
  if (name.length > 63 || !NAME.test(name)) return `key ${quote(key)}: its name must be 1-63 letters, digits, "-", "_" or ".", beginning and ending with a letter or digit`;
  return null;
}

/** Why `value` is no label value, or null (the empty value is one). */
export function labelValueProblem(value: string): string | null {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return null;
  return `value ${quote(value)} must be at most 63 letters, digits, "-", "_" or ".", beginning and ending with a letter or digit`;
}

/** The requirements of `selector`; throws LabelSelectorError saying where it is wrong. */
export function parseLabelSelector(selector: string): Requirement[] {
  const tokens = lex(selector);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const where = (t: Token | undefined) => (t ? `${quote(t.text)} at character ${t.at}` : 'the end');
  const fail = (expected: string): never => {
    throw new LabelSelectorError(`expected ${expected}, found ${where(peek())}`);
  };
  const key = (): string => {
    const t = peek();
    if (t?.kind !== 'id' || t.text === 'in' || t.text === 'notin') return fail('a label key');
    pos++;
    const problem = labelKeyProblem(t.text);
    if (problem) throw new LabelSelectorError(problem);
    return t.text;
  };
  // Where a value goes, `in` and `notin` are plain words, as for the server.
  const value = (): string => {
    const t = peek();
    if (t?.kind !== 'id') return '';
    pos++;
    const problem = labelValueProblem(t.text);
    if (problem) throw new LabelSelectorError(problem);
    return t.text;
  };
  const set = (): string[] => {
    if (peek()?.kind !== '(') fail('"(" after in / notin');
    pos++;
    const values = [value()];
    while (peek()?.kind === ',') {
      pos++;
      values.push(value());
    }
    if (peek()?.kind !== ')') fail('"," or ")" in a set of values');
    pos++;
    return values;
  };
  const requirement = (): Requirement => {
    if (peek()?.kind === '!') {
      pos++;
      return { key: key(), operator: '!exists', values: [] };
    }
    const k = key();
    const t = peek();
    if (t === undefined || t.kind === ',') return { key: k, operator: 'exists', values: [] };
    pos++;
    if (t.kind === '=' || t.kind === '==') return { key: k, operator: '=', values: [value()] };
    if (t.kind === '!=') return { key: k, operator: '!=', values: [value()] };
    if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) return { key: k, operator: t.text, values: set() };
    pos--;
    return fail(`=, ==, !=, in or notin after key ${quote(k)}`);
  };
  const out = [requirement()];
  while (pos < tokens.length) {
    if (peek()!.kind !== ',') fail('"," between requirements');
    pos++;
    out.push(requirement());
  }
  return out;
}
