/**
 * Logs of a failed container: what kind of failure they show, and a short, redacted excerpt for
 * the report. Classification is by patterns over lines, nothing smarter: it is evidence for the
 * decision (a dependency outage is not fixed by a rollback), not the decision itself.
 */

export type LogCategory = 'out-of-memory' | 'dependency' | 'config' | 'permission' | 'panic' | 'unknown';

export interface LogClassification {
  category: LogCategory;
  /** The (redacted, trimmed) line that decided the category; null for `unknown`. */
  evidence: string | null;
}

/**
 * Precedence when the logs show several categories: the cause wins over the symptom.
 * - `out-of-memory` first: memory exhaustion surfaces as everything else (timeouts, resets,
 *   crashes), never the other way round.
 * - `dependency` next: a refused or unresolvable peer often ends in a panic, and a bad config
 *   error can be the consequence of an unreachable config server; rolling back will not help.
 * - `config`, then `permission`: both are specific, deliberate error messages.
 * - `panic` last: a stack trace is how most of the above end, so it only says "it crashed".
 */
export const LOG_PRECEDENCE: readonly Exclude<LogCategory, 'unknown'>[] = ['out-of-memory', 'dependency', 'config', 'permission', 'panic'];

/** A pattern is one regex, or a list that must all match the same line. Listed by evidence quality. */
type Pattern = RegExp | readonly RegExp[];

const PATTERNS: Record<Exclude<LogCategory, 'unknown'>, readonly Pattern[]> = {
  'out-of-memory': [
    /java\.lang\.OutOfMemoryError/,
    /JavaScript heap out of memory/i,
    /fatal error: runtime: out of memory/,
    /\bMemoryError\b/,
    /Cannot allocate memory/i,
    /\bout of memory\b/i,
    /\bENOMEM\b/,
    /std::bad_alloc/,
    /memory allocation of \d+ bytes failed/,
  ],
  dependency: [
    /connection refused/i,
    /\bECONNREFUSED\b/,
    /no such host/i,
    /\bENOTFOUND\b/,
    /\bEAI_AGAIN\b/,
    /Name or service not known/i,
    /Temporary failure in name resolution/i,
    /could not translate host name/i,
    /UnknownHostException/,
    /i\/o timeout/i,
    /\bETIMEDOUT\b/,
    /connection timed out/i,
    /could not connect to server/i,
    /connection reset/i,
    /\bECONNRESET\b/,
    /no route to host/i,
    /\bEHOSTUNREACH\b/,
  ],
  config: [
    /\benv(?:ironment)?(?: var(?:iable)?)?\b.{0,80}\b(?:is not set|not set|is not defined|undefined|is missing|missing|is required|is empty)\b/i,
    /\b(?:missing|undefined|unset)\b.{0,40}\benv(?:ironment)?(?: var(?:iable)?)?\b/i,
    /\bKeyError: ['"][A-Z][A-Z0-9_]*['"]/,
    [/no such file or directory/i, /\.(?:ya?ml|json|toml|ini|conf|cfg|properties|env|xml)\b|config|\/etc\//i],
    /\bsecrets? "?[\w.-]+"? not found/i,
    /\bconfigmaps? "?[\w.-]+"? not found/i,
    /invalid config(?:uration)?\b/i,
    /missing required/i,
    /(?:failed|unable) to (?:load|parse|read) config/i,
  ],
  permission: [
    /permission denied/i,
    /\bEACCES\b/,
    /operation not permitted/i,
    /\bEPERM\b/,
    /\bforbidden\b/i,
    /\b403 Forbidden\b|\bHTTP\/\d(?:\.\d)? 403\b|\bstatus(?: ?code)?[ :=]+403\b/i,
    /\bunauthori[sz]ed\b/i,
    /\baccess ?denied\b/i,
    /authentication failed/i,
  ],
  panic: [
    /^\s*panic: /,
    /thread '[^']*' panicked at/,
    /Exception in thread "/,
    /Traceback \(most recent call last\)/,
    /UnhandledPromiseRejection/,
    /\buncaught(?:Exception)?\b/i,
    // An uncaught JavaScript / Python error as the runtime prints it, at the start of a line ("TypeError: ...").
    /^[A-Z][A-Za-z]*(?:Error|Exception): /,
    /goroutine \d+ \[running\]/,
    /^fatal error: /,
    /Segmentation fault|\bSIGSEGV\b/,
  ],
};

/** Only the end of the logs is read: the crash is there, and old noise ("connection reset" an hour ago) is not. */
export const CLASSIFY_MAX_LINES = 1000;
const EVIDENCE_CHARS = 300;

// eslint-disable-next-line no-control-regex -- ANSI colour codes are control characters by definition
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

function toLines(text: string): string[] {
  return text.replace(ANSI, '').split(/\r?\n/);
}

function matches(pattern: Pattern, line: string): boolean {
  return pattern instanceof RegExp ? pattern.test(line) : pattern.every((re) => re.test(line));
}

function clip(line: string): string {
  const clean = redact(line.trim());
  return clean.length > EVIDENCE_CHARS ? `${clean.slice(0, EVIDENCE_CHARS - 1)}…` : clean;
}

/**
 * A Python traceback's header says nothing; the exception line closing it does
 * (`ValueError: ...`): the first later line that is not indented.
 */
function tracebackConclusion(lines: string[], from: number): string | null {
  for (let i = from + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() !== '' && !/^\s/.test(line)) return line;
  }
  return null;
}

/**
 * Classifies a container's logs (typically `kubectl logs --previous`): the categories are tried in
 * {@link LOG_PRECEDENCE} order over the last {@link CLASSIFY_MAX_LINES} lines; within one, the
 * patterns in their listed order, each from the last line backwards, and the first hit gives the
 * evidence.
 */
export function classifyLogs(text: string, options: { maxLines?: number } = {}): LogClassification {
  const lines = toLines(text).slice(-(options.maxLines ?? CLASSIFY_MAX_LINES));
  for (const category of LOG_PRECEDENCE) {
    for (const pattern of PATTERNS[category]) {
      for (let i = lines.length - 1; i >= 0; i--) {
        if (!matches(pattern, lines[i])) continue;
        const conclusion = category === 'panic' && /Traceback \(most recent call last\)/.test(lines[i]) ? tracebackConclusion(lines, i) : null;
        return { category, evidence: clip(conclusion ?? lines[i]) };
      }
    }
  }
  return { category: 'unknown', evidence: null };
}

/** True when the logs point at a dependency (network, DNS, a peer down): a rollback would not help. */
export function isDependencyOutage(classification: LogClassification): boolean {
  return classification.category === 'dependency';
}

// ---------------------------------------------------------------------------------------------
// Redaction

const MASK = '***';

/** A token after `Bearer`/`Basic` rather than an English word ("Bearer token required"). */
function looksLikeCredential(token: string): boolean {
  return token.length >= 8 && (/[0-9+/=._~-]/.test(token) || /[A-Z]/.test(token.slice(1)));
}

const SECRET_KEY = String.raw`[A-Za-z0-9_.-]{0,40}?(?:passw(?:or)?d|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)\d*`;
const VALUE = String.raw`("[^"\n]*"|'[^'\n]*'|[^\s"'&,;]+)`;

function maskValue(value: string): string {
  if (value.startsWith('"')) return `"${MASK}"`;
  if (value.startsWith("'")) return `'${MASK}'`;
  return MASK;
}

const REDACTIONS: ReadonlyArray<[RegExp, (match: string, ...groups: string[]) => string]> = [
  // PEM private keys (RSA, EC, OPENSSH, PGP ...), also when the END line was cut off.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|$)/g, () => MASK],
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]{0,30}:\/\/[^\s:@/]{0,256}:)([^\s@/]{1,256})@/gi, (_m, head: string) => `${head}${MASK}@`],
  // Authorization headers: everything after the scheme word, to the end of the value.
  [
    /\b((?:Proxy-)?Authorization["']?\s*[:=]\s*["']?)(?:(Bearer|Basic|Digest|Token|Bot|Negotiate|AWS4-HMAC-SHA256)\s+)?([^"'\r\n]+)/gi,
    (_m, head: string, scheme: string | undefined) => `${head}${scheme ? `${scheme} ` : ''}${MASK}`,
  ],
  [/\b(Bearer|Basic)\s+([A-Za-z0-9._~+/-]+=*)/gi, (m, scheme: string, token: string) => (looksLikeCredential(token) ? `${scheme} ${MASK}` : m)],
  // Cookie and Set-Cookie headers: every cookie in them, to the end of the value.
  [/\b((?:Set-)?Cookie["']?\s*:\s*["']?)([^"'\r\n]+)/gi, (_m, head: string) => `${head}${MASK}`],
  // Azure SAS signatures (`sig=`, URL-encoded base64) in a query string.
  [/([?&]sig=)[^&\s"'#]+/gi, (_m, head: string) => `${head}${MASK}`],
  // GitLab tokens (personal, project, group: glpat-…), also short ones.
  [/\bglpat-[A-Za-z0-9_.-]{4,}/g, () => MASK],
  // `apikey <value>` (a scheme-like word and a credential after it, as in `Authorization: apikey …`).
  [/\b(api[_-]?key\s+)([^\s"',;]+)/gi, (m, head: string, value: string) => (looksLikeCredential(value) ? `${head}${MASK}` : m)],
  // JSON Web Tokens: base64url header and payload both start with '{"' = "eyJ".
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, () => MASK],
  // AWS access key ids (long-term AKIA, temporary ASIA).
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, () => MASK],
  // key=value, key: value, "key": "value" for password/secret/token/api key... keys.
  [new RegExp(String.raw`\b(${SECRET_KEY}["']?\s*[:=]\s*)${VALUE}`, 'gi'), (_m, head: string, value: string) => `${head}${maskValue(value)}`],
  [new RegExp(String.raw`\b((?:[A-Za-z0-9]+[_-])?pass["']?\s*[:=]\s*)${VALUE}`, 'gi'), (_m, head: string, value: string) => `${head}${maskValue(value)}`],
  // --password hunter2
  [/(--?(?:password|passwd|pass|token|secret|api-?key|access-key)[\w-]*\s+)(?!-)(\S+)/gi, (_m, head: string) => `${head}${MASK}`],
  // Long hex runs (keys, digests).
  [/\b[0-9a-fA-F]{32,}\b/g, () => MASK],
  // Long base64 runs: only with digits and both cases, so long identifiers (AbstractAutowireCapableBeanFactory) survive.
  [
    /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/=_-])/g,
    (m) => (/[0-9]/.test(m) && /[A-Z]/.test(m) && /[a-z]/.test(m) ? MASK : m),
  ],
];

/**
 * Masks secrets with `***`: PEM private key blocks, URL passwords (`user:***@`), Authorization,
 * Cookie and Set-Cookie headers, Bearer/Basic credentials, Azure SAS signatures (`sig=`), GitLab
 * `glpat-` tokens, `apikey <value>`, JWTs, AWS access key ids, values of password/passwd/pass/
 * secret/token/api_key/apikey/access_key/private_key/credentials keys (`k=v`, `k: v`, `"k": "v"`,
 * `--k v`), and long hex (≥ 32) or mixed base64 (≥ 32) runs. Errs on the side of masking.
 */
export function redact(text: string): string {
  let out = text;
  for (const [pattern, replace] of REDACTIONS) out = out.replace(pattern, replace as (substring: string, ...args: unknown[]) => string);
  return out;
}

/**
 * The end of the logs for a report: at most the last `lines` lines and `chars` characters,
 * colour codes removed, redacted (before cutting, so a cut never exposes half a secret), trimmed.
 */
export function excerpt(text: string, options: { lines?: number; chars?: number } = {}): string {
  const maxLines = options.lines ?? 20;
  const maxChars = options.chars ?? 2000;
  // Redacting megabytes to keep two thousand characters is waste: take a generous tail first.
  const window = Math.max(64 * 1024, maxChars * 4);
  let source = text.length > window ? text.slice(-window) : text;
  if (source.length < text.length) source = source.slice(source.indexOf('\n') + 1);
  const lines = redact(toLines(source).join('\n'))
    .split('\n')
    .map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let out = lines.slice(-maxLines).join('\n');
  if (out.length > maxChars) {
    out = out.slice(-maxChars);
    const newline = out.indexOf('\n');
    if (newline >= 0 && newline < out.length - 1) out = out.slice(newline + 1);
  }
  return out.trim();
}
