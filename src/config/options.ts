/**
 * Command configuration from flags and environment variables, validated at start-up. Every option
 * has a flag (`--refresh-offset 10` or `--refresh-offset=10`) and an environment variable
 * (`AMADEUS_REFRESH_OFFSET`); a flag wins over the environment, the environment over the default.
 */
import { closest } from './closest.js';
import { FieldsError, optional, parseFields, text, type FieldSpec, type Parsed, type Schema } from './fields.js';

export interface OptionSpec<T> {
  field: FieldSpec<T>;
  help: string;
}
export type OptionSchema = Record<string, OptionSpec<unknown>>;

/** An option: its field and its one-line help. */
export const option = <T>(field: FieldSpec<T>, help: string): OptionSpec<T> => ({ field, help });
/** An optional file path. */
export const fileOption = () => optional(text({ expected: 'a file path', required: true }));
export type ParsedOptions<O extends OptionSchema> = Parsed<{ [K in keyof O]: O[K]['field'] }>;

export const ENV_PREFIX = 'AMADEUS_';

export function flagOf(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
export function envOf(key: string): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

export interface UnreadVariable {
  variable: string;
  /** The option variable it most likely meant, when one is near. */
  closest: string | null;
}

/**
 * The AMADEUS_* variables in `env` that no option reads: a misspelt one (AMADEUS_HEAL_NAMESPACE)
 * left its option at the default, silently. Only warned of: other tools may share the prefix.
 */
export function unreadEnv(options: OptionSchema, env: Readonly<Record<string, string | undefined>>): UnreadVariable[] {
  const known = new Set(Object.keys(options).map(envOf));
  return Object.keys(env)
    .filter((v) => v.startsWith(ENV_PREFIX) && !known.has(v))
    .sort()
    .map((variable) => ({ variable, closest: closest(variable, known, Math.max(1, Math.floor((variable.length - ENV_PREFIX.length) / 3))) }));
}

/** For the commands that log to stderr: one line per unread variable (serve logs them instead). */
export function warnUnreadEnv(command: string, options: OptionSchema, env: Readonly<Record<string, string | undefined>>): void {
  for (const u of unreadEnv(options, env)) {
    process.stderr.write(`amadeus ${command}: warning: ${u.variable} is read by no option of amadeus ${command}, so it is ignored${u.closest ? ` (did you mean ${u.closest}?)` : ''}\n`);
  }
}

/** A configuration problem: the CLI prints it and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions<O extends OptionSchema>(
  options: O,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedOptions<O> {
  return parseOptionsGiven(options, argv, env).opts;
}

/** parseOptions, with the keys a flag or an environment variable gave (the others took their defaults). */
export function parseOptionsGiven<O extends OptionSchema>(
  options: O,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { opts: ParsedOptions<O>; given: ReadonlySet<keyof O & string> } {
  const byFlag = new Map(Object.keys(options).map((k) => [flagOf(k), k]));
  const raw: Record<string, string> = {};
  for (const key of Object.keys(options)) {
    const v = env[envOf(key)];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    // `--no-demo` is `--demo=false` for a boolean flag.
    const negated = eq === -1 && flag.startsWith('--no-') ? byFlag.get('--' + flag.slice(5)) : undefined;
    if (negated && options[negated]!.field.standalone) {
      raw[negated] = 'false';
      continue;
    }
    const key = byFlag.get(flag);
    if (!key) throw new UsageError(`unknown option ${flag} (see --help)`);
    if (eq !== -1) raw[key] = arg.slice(eq + 1);
    else if (options[key]!.field.standalone) {
      // A boolean flag alone means true; `--flag false` is accepted too.
      const next = argv[i + 1];
      if (next !== undefined && /^(true|false|1|0|yes|no)$/i.test(next)) {
        raw[key] = next;
        i++;
      } else raw[key] = 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value: ${options[key]!.field.expected}`);
      raw[key] = next;
      i++;
    }
  }
  const fields = Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.field])) as Schema;
  try {
    const opts = parseFields(fields, raw, { describeKey: (k) => `${flagOf(k)} (${envOf(k)})` }) as ParsedOptions<O>;
    return { opts, given: new Set(Object.keys(raw)) };
  } catch (err) {
    if (err instanceof FieldsError) throw new UsageError(err.message);
    throw err;
  }
}

export function helpText(command: string, summary: string, options: OptionSchema): string {
  const lines = [`Usage: amadeus ${command} [options]`, '', summary, '', 'Options (each also from its environment variable):'];
  for (const [key, o] of Object.entries(options)) {
    const dflt = o.field.default === undefined ? (o.field.required ? 'required' : 'unset') : `default ${o.field.show ? o.field.show(o.field.default) : String(o.field.default)}`;
    lines.push(`  ${flagOf(key)}${o.field.standalone ? '' : ' VALUE'}`, `      ${o.help} ${o.field.expected}; ${dflt}. [${envOf(key)}]`);
  }
  return lines.join('\n');
}
