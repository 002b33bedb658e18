/** The Slack notifier against a local HTTP sink standing in for slack.com/api (via slackApiUrl). */
import dns from 'node:dns';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../telemetry/logger.js';
import type { Notification } from './notifier.js';
import { escapeMrkdwn, SlackNotifier, slackMessage } from './slack.js';

const TOKEN = 'xoxb-1111-2222-SECRETSECRET';
interface Post {
  path: string;
  auth: string | undefined;
  form: URLSearchParams;
}
let server: Server;
let url: string;
let posts: Post[];
/** What the sink answers next, in order; then 200 ok. */
let answers: { status: number; headers?: Record<string, string>; body?: object }[];
let lines: string[];
/** When set, answers instead (a trickling or huge reply). */
let custom: ((res: ServerResponse) => void) | null;
const timers: NodeJS.Timeout[] = [];

beforeEach(async () => {
  posts = [];
  answers = [];
  lines = [];
  custom = null;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', auth: req.headers.authorization, form: new URLSearchParams(body) });
      if (custom) return custom(res);
      const a = answers.shift() ?? { status: 200, body: { ok: true, channel: 'C1', ts: '1.0' } };
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body ?? { ok: false, error: 'fatal_error' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});
afterEach(() => {
  timers.splice(0).forEach(clearInterval);
  server.closeAllConnections();
  return new Promise((r) => server.close(r));
});

const log = () => createLogger({ level: 'debug', sink: (l) => lines.push(l) });
const slack = (o: Partial<ConstructorParameters<typeof SlackNotifier>[0]> = {}) =>
  new SlackNotifier({ token: TOKEN, channel: '#ops', apiUrl: url, log: log(), retries: 2, retryDelayMs: 20, minIntervalMs: 0, ...o });
const note = (o: Partial<Notification> = {}): Notification => ({
  source: 'heal',
  action: 'oom-bump',
  result: 'applied',
  severity: 'info',
  namespace: 'shop',
  object: 'Deployment/web',
  title: 'Amadeus: container web was OOMKilled — raised the memory limit of web: 256Mi → 356Mi',
  fields: { reason: 'raised', undo: 'kubectl -n shop set resources deployment/web -c web --limits=memory=256Mi' },
  excerpt: 'java.lang.OutOfMemoryError: Java heap space',
  ...o,
});

test('posts chat.postMessage with Block Kit and a plain-text fallback, authenticated, to the channel', async () => {
  const s = slack();
  await s.notify(note());
  await s.flush();
  expect(posts).toHaveLength(1);
  const p = posts[0]!;
  expect(p.path).toBe('/api/chat.postMessage');
  expect(p.auth).toBe(`Bearer ${TOKEN}`);
  expect(p.form.get('channel')).toBe('#ops');
  expect(p.form.get('text')).toContain('256Mi → 356Mi');
  expect(p.form.get('text')).toContain('undo: kubectl -n shop set resources');
  const blocks = JSON.parse(p.form.get('blocks')!) as { type: string; text?: { text: string } }[];
  expect(blocks[0]!.text!.text).toContain('*Amadeus: container web was OOMKilled');
  expect(blocks.some((b) => b.text?.text.startsWith('```java.lang.OutOfMemoryError'))).toBe(true);
  expect(lines.join('\n')).not.toContain('SECRETSECRET');
});

test('429 with Retry-After is honoured, then the message goes through', async () => {
  answers = [{ status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } }];
  const s = slack();
  const started = Date.now();
  await s.notify(note());
  await s.flush();
  expect(posts).toHaveLength(2);
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
});

test('a 500 is retried; a Slack that stays down drops the notice with a log line, never throws', async () => {
  answers = [{ status: 500 }];
  const s = slack();
  await s.notify(note());
  await s.flush();
  expect(posts).toHaveLength(2);
  answers = [{ status: 500 }, { status: 500 }, { status: 500 }];
  await s.notify(note({ title: 'another' }));
  await s.flush();
  expect(posts).toHaveLength(5); // 1 + 2 retries
  const dropped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'slack: notice dropped after retries');
  expect(dropped).toMatchObject({ level: 'warn', workload: 'shop/Deployment/web' });
  expect(lines.join('\n')).not.toContain('SECRETSECRET');
});

test('notify returns at once: a slow or rate-limited Slack never holds up the caller', async () => {
  answers = [{ status: 429, headers: { 'retry-after': '2' }, body: { ok: false, error: 'ratelimited' } }];
  const s = slack();
  const started = Date.now();
  await s.notify(note());
  expect(Date.now() - started).toBeLessThan(100);
  await s.flush();
});

test('duplicates are dropped; per workload one notice per interval, the held-back ones counted in the next', async () => {
  let now = 0;
  const s = slack({ minIntervalMs: 60_000, dedupeWindowMs: 600_000, clock: () => now });
  await s.notify(note());
  await s.notify(note()); // identical: dropped
  now = 1000;
  await s.notify(note({ action: 'rollback', title: 'rolled back' })); // held back
  await s.notify(note({ namespace: 'other' })); // another workload: its own budget
  now = 61_000;
  await s.notify(note({ action: 'rollback', title: 'rolled back again' }));
  await s.flush();
  expect(posts.map((p) => p.form.get('text')!.split('\n')[0])).toEqual([note().title, note().title, 'rolled back again']);
  expect(posts[2]!.form.get('text')).toContain('(+1 held back)');
});

test('an error Slack answers with ok:false (a bad channel) is logged, not retried', async () => {
  answers = [{ status: 200, body: { ok: false, error: 'channel_not_found' } }];
  const s = slack();
  await s.notify(note());
  await s.flush();
  expect(posts).toHaveLength(1);
  expect(lines.some((l) => l.includes('channel_not_found'))).toBe(true);
});

test('mrkdwn control characters in titles are escaped', () => {
  expect(escapeMrkdwn('a <b> & c')).toBe('a &lt;b&gt; &amp; c');
  const m = slackMessage(note({ title: '<!channel> hi' }));
  expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
});

test('a title or field of any length stays within Block Kit\'s limits (else Slack refuses the whole message)', () => {
  const huge = 'refused by the API server: '.padEnd(8 * 1024 * 1024, '&');
  const m = slackMessage(note({ title: huge, fields: { reason: huge } }));
  const sections = m.blocks.filter((b) => b.type === 'section') as { text?: { text: string }; fields?: { text: string }[] }[];
  expect(sections[0]!.text!.text.length).toBeLessThanOrEqual(3000);
  for (const f of sections[1]!.fields!) expect(f.text.length).toBeLessThanOrEqual(2000);
  expect(m.text.length).toBeLessThanOrEqual(4000);
});

// Every attempt has an overall deadline and a size cap; a Retry-After has a cap too.
describe('bounded', () => {
  const dropped = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'slack: notice dropped after retries');

  test('a server that trickles its answer a byte at a time: each attempt ends at the deadline, then the notice is dropped', async () => {
    custom = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"ok":true,');
      timers.push(setInterval(() => res.write(' '), 20)); // never idle long enough for axios's timeout
    };
    const s = slack({ timeoutMs: 300 });
    const started = Date.now();
    await s.notify(note());
    await s.flush();
    expect(Date.now() - started).toBeLessThan(3000); // 3 attempts × 0.3 s, plus the back-off
    expect(posts).toHaveLength(3);
    expect(dropped()).toEqual([expect.objectContaining({ level: 'warn', error: 'no complete answer within the deadline' })]);
  });

  test('a huge answer is refused past the size cap, not buffered whole, and the notice is not posted again', async () => {
    custom = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"ok":true,"pad":"');
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 64; i++) res.write(chunk); // 4 MiB
      res.end('"}');
    };
    const s = slack({ maxResponseBytes: 256 * 1024 });
    await s.notify(note());
    await s.flush();
    expect(dropped()).toHaveLength(1);
    expect(dropped()[0]!.error).toBe('answer larger than 262144 bytes, refused (not sent again: it may have been posted)');
    // Slack answered, so it took the message: a retry would post it twice.
    expect(posts).toHaveLength(1);
  });

  test('what the server says goes into the log line bounded: a 100 KiB error code (a proxy answering for Slack) is cut short', async () => {
    answers = [
      { status: 200, body: { ok: false, error: 'e'.repeat(100 * 1024) } },
      { status: 200, body: { ok: false, error: { nested: 'n'.repeat(100 * 1024) } } },
    ];
    const s = slack();
    await s.notify(note());
    await s.notify(note({ namespace: 'other' }));
    await s.flush();
    expect(posts).toHaveLength(2);
    const errors = dropped().map((l) => String(l.error));
    expect(errors.map((e) => e.length < 300)).toEqual([true, true]);
    expect(errors).toEqual([expect.stringMatching(/^e{200}… \(102400 characters\)$/), expect.stringMatching(/^\{"nested":"n+… \(\d+ characters\)$/)]);
    for (const l of lines) expect(l.length).toBeLessThan(2000);
  });

  test('429 with Retry-After: 3600 drops the notice at once, and the queue is not posted into the limit', async () => {
    answers = [{ status: 429, headers: { 'retry-after': '3600' }, body: { ok: false, error: 'ratelimited' } }];
    const s = slack();
    const started = Date.now();
    await s.notify(note());
    await s.notify(note({ namespace: 'other' }));
    await s.flush();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(posts).toHaveLength(1);
    expect(dropped().map((l) => l.error)).toEqual(['rate limited: Slack asks to wait 3600 s, more than 30 s', expect.stringMatching(/^rate limited: Slack asked for quiet for 3\d\d\d s more$/)]);
  });

  test('429s within the cap are waited on, at most `retries` times', async () => {
    answers = [0, 1, 2].map(() => ({ status: 429, headers: { 'retry-after': '0' }, body: { ok: false, error: 'ratelimited' } }));
    const s = slack({ retries: 2 });
    await s.notify(note());
    await s.flush();
    expect(posts).toHaveLength(3);
    expect(dropped().map((l) => l.error)).toEqual(['rate limited 3 times']);
  });

  test('DNS not answering: one lookup of the API host in flight, however many attempts and notices (each would hold a libuv pool thread)', async () => {
    // The resolver every lookup ends in, hung as a DNS server that never answers would leave it.
    const real = dns.lookup;
    const asked: string[] = [];
    dns.lookup = ((hostname: string) => void asked.push(hostname)) as unknown as typeof dns.lookup;
    try {
      const port = (server.address() as AddressInfo).port;
      const s = slack({ apiUrl: `http://slack-api.invalid:${port}/api/`, timeoutMs: 100, retryDelayMs: 10 });
      await s.notify(note());
      await s.notify(note({ namespace: 'other' }));
      await s.flush();
      // Both notices dropped after their attempts (3 each), every one ended by its deadline...
      expect(dropped()).toHaveLength(2);
      expect(posts).toHaveLength(0);
      // ...while the name was looked up once: six hung lookups would hold six of the pool's threads.
      expect(asked).toEqual(['slack-api.invalid']);
    } finally {
      dns.lookup = real;
    }
  });
});

// Review 5, D12: a workload whose last notice was held back kept its held-back count, and so its
// last-sent time, for the life of the process (pruning started only at 1,000 notices remembered).
test('workloads gone while notices were held back are forgotten once the windows pass, the count told in a log line', async () => {
  let now = 0;
  const s = slack({ minIntervalMs: 60_000, dedupeWindowMs: 600_000, clock: () => now });
  for (let i = 0; i < 50; i++) {
    await s.notify(note({ object: `Deployment/w${i}` }));
    await s.notify(note({ object: `Deployment/w${i}`, action: 'rollback', title: 'rolled back' })); // held back
  }
  expect(s.remembered).toBe(150);
  // A notice of another workload a window later: the 50 are forgotten.
  now = 600_001 + 1;
  await s.notify(note({ object: 'Deployment/other' }));
  expect(s.remembered).toBe(2);
  const told = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'slack: notices held back by the rate limit, none sent since');
  expect(told).toHaveLength(50);
  expect(told[0]).toMatchObject({ workload: 'shop/Deployment/w0', heldBack: 1 });
  // A count not pruned yet still goes out with the workload's next notice, however late.
  now = 1_000_000;
  await s.notify(note({ object: 'Deployment/late' }));
  now = 1_001_000;
  await s.notify(note({ object: 'Deployment/late', action: 'rollback', title: 'held' }));
  now = 1_700_000;
  await s.notify(note({ object: 'Deployment/late', action: 'rollback', title: 'late' }));
  await s.flush();
  expect(posts.at(-1)!.form.get('text')).toMatch(/^late\n[^]*\(\+1 held back\)$/);
});
