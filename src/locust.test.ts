/**
 * scripts/locust/: the Online Boutique load scenarios. The curves (shapes.py) are unit-tested in
 * Python (test_shapes.py: python3 only); the stand-in frontend (standin.py) is checked route by
 * route; and, when Locust is installed (Debian's python3-locust), locustfile.py runs headless for
 * a few seconds in each shape against the stand-in: journeys must hit the frontend's routes and
 * nothing else, and the users Locust ran must follow the shape.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../scripts/locust/', import.meta.url));
const LOCUSTFILE = join(DIR, 'locustfile.py');
// Debian's python3-locust lives under /usr/bin/python3; python3 on PATH may be another (pyenv).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// No __pycache__ in scripts/locust/ from test runs.
const PY_ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
const works = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 }).status === 0;
const pythonAvailable = works(PYTHON, ['--version']);
/** How to run Locust: the `locust` on PATH, else the module under PYTHON; null when neither works. */
const LOCUST: string[] | null = works('locust', ['--version'])
  ? ['locust']
  : pythonAvailable && works(PYTHON, ['-c', 'import locust'])
    ? [PYTHON, '-m', 'locust']
    : null;

const withPython = pythonAvailable ? describe : describe.skip;
const withLocust = LOCUST ? describe : describe.skip;
if (!pythonAvailable) console.warn(`locust.test.ts: ${PYTHON} not found: skipping the scripts/locust tests`);
else if (!LOCUST) console.warn('locust.test.ts: Locust is not installed (apt-get install python3-locust): skipping the Locust runs');

// A crashed or killed test run must not leave children behind.
const children = new Set<ChildProcess>();
const killAll = () => children.forEach((c) => c.kill('SIGKILL'));
process.once('exit', killAll);
afterAll(killAll);

function track(child: ChildProcess): Promise<number | null> {
  children.add(child);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
}

interface StandinStats {
  routes: Record<string, number>;
  unknown: Record<string, number>;
  rejected: Record<string, number>;
  per_second: number[];
  total: number;
}

interface Standin {
  url: string;
  stats(): Promise<StandinStats>;
  close(): Promise<void>;
}

async function startStandin(): Promise<Standin> {
  const child = spawn(PYTHON, [join(DIR, 'standin.py'), '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: PY_ENV });
  const exited = track(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`standin.py did not start within 15 s:\n${err}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => reject(new Error(`standin.py exited (${code}) during start-up:\n${err}`)));
  });
  return {
    url,
    stats: async () => (await (await fetch(`${url}/_stats`)).json()) as StandinStats,
    close: async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
  };
}

withPython('shapes.py: the load curves (test_shapes.py)', () => {
  it('passes its unit tests', () => {
    const res = spawnSync(PYTHON, [join(DIR, 'test_shapes.py')], { encoding: 'utf8', timeout: 30_000, env: PY_ENV });
    if (res.status !== 0) throw new Error(`test_shapes.py failed (${res.status}):\n${res.stderr}${res.stdout}`);
    expect(res.stderr).toMatch(/Ran \d+ tests/);
  });
});

withPython('standin.py: a stand-in for the Online Boutique frontend', () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin();
  });
  afterAll(() => standin?.close());

  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual' as const,
  });
  const order = {
    email: 'someone@example.com',
    street_address: '1600 Amphitheatre Parkway',
    zip_code: '94043',
    city: 'Mountain View',
    state: 'CA',
    country: 'United States',
    credit_card_number: '4432-8015-6152-0454',
    credit_card_expiration_month: '1',
    credit_card_expiration_year: '2039',
    credit_card_cvv: '672',
  };

  it('answers like the real frontend and records each request by route', async () => {
    const call = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${standin.url}${path}`, { redirect: 'manual', ...init });
      return { status: res.status, location: res.headers.get('location'), type: res.headers.get('content-type'), body: await res.text() };
    };
    expect(await call('/')).toMatchObject({ status: 200, type: expect.stringContaining('text/html') });
    expect(await call('/_healthz')).toMatchObject({ status: 200, body: 'ok' });
    expect((await call('/product/OLJCESPC7Z')).status).toBe(200);
    expect((await call('/product/NOSUCHTHING')).status).toBe(500);
    expect(await call('/setCurrency', form({ currency_code: 'EUR' }))).toMatchObject({ status: 302, location: '/' });
    const back = { ...form({ currency_code: 'JPY' }), headers: { ...form({}).headers, referer: `${standin.url}/cart` } };
    expect(await call('/setCurrency', back)).toMatchObject({ status: 302, location: `${standin.url}/cart` });
    expect((await call('/setCurrency', form({}))).status).toBe(422);
    expect((await call('/setCurrency', form({ currency_code: 'XXX' }))).status).toBe(422);
    expect(await call('/cart', form({ product_id: '66VCHSJNUP', quantity: '2' }))).toMatchObject({ status: 302, location: '/cart' });
    expect((await call('/cart', form({ product_id: '66VCHSJNUP' }))).status).toBe(422);
    expect((await call('/cart', form({ quantity: '1' }))).status).toBe(422);
    expect((await call('/cart', form({ product_id: '66VCHSJNUP', quantity: '0' }))).status).toBe(422);
    expect((await call('/cart', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(400);
    expect((await call('/cart')).status).toBe(200);
    expect(await call('/cart/checkout', form(order))).toMatchObject({ status: 200, body: expect.stringContaining('Your order is complete!') });
    expect((await call('/cart/checkout', form({ ...order, credit_card_cvv: '' }))).status).toBe(422);
    expect((await call('/cart/checkout', form({ ...order, zip_code: 'abc' }))).status).toBe(422);
    expect(await call('/cart/empty', form({}))).toMatchObject({ status: 302, location: '/' });
    expect((await call('/nope')).status).toBe(404);
    expect((await call('/setCurrency')).status).toBe(405);

    const stats = await standin.stats();
    expect(stats.routes).toEqual({
      'GET /': 1,
      'GET /_healthz': 1,
      'GET /product/{id}': 2,
      'POST /setCurrency': 4,
      'POST /cart': 5,
      'GET /cart': 1,
      'POST /cart/checkout': 3,
      'POST /cart/empty': 1,
    });
    expect(stats.unknown).toEqual({ 'GET /nope': 1, 'GET /setCurrency': 1 });
    expect(stats.rejected).toEqual({
      'GET /product/{id} 500': 1,
      'POST /setCurrency 422': 2,
      'POST /cart 422': 3,
      'POST /cart 400': 1,
      'POST /cart/checkout 422': 2,
      'GET /nope 404': 1,
      'GET /setCurrency 405': 1,
    });
    expect(stats.total).toBe(20);
    expect(stats.per_second.reduce((a, b) => a + b, 0)).toBe(20);
  });
});

/** One headless Locust run against its own stand-in. */
interface Run {
  code: number | null;
  log: string;
  /** Locust's --csv request stats: "METHOD name" → [requests, failures]. */
  requests: Map<string, [number, number]>;
  standin: StandinStats;
  /** Locust's own log: the shape's targets and the users it had running, seconds from the first target. */
  targets: { t: number; users: number }[];
  spawned: { t: number; users: number }[];
  stoppedAt: number;
}

// Short journeys with all three kinds frequent enough to show in a few seconds.
const JOURNEYS = { THINK_MIN_SECONDS: '0.05', THINK_MAX_SECONDS: '0.2', WEIGHT_BROWSE: '2', WEIGHT_CART: '1', WEIGHT_CHECKOUT: '1' };
const OUR_ENV = /^(AMADEUS_SHAPE|SPAWN_RATE|PEAK_USERS|DAY_SECONDS|TROUGH_RATIO|DAYS|BASE_USERS|FLASH_\w+|TRACE_\w+|THINK_\w+|WEIGHT_\w+)$/;

async function runLocust(dir: string, shapeEnv: Record<string, string>): Promise<Run> {
  const standin = await startStandin();
  try {
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(PY_ENV).filter(([k]) => !OUR_ENV.test(k)));
    const csv = join(dir, 'run');
    const [cmd, ...pre] = LOCUST!;
    const args = [...pre, '-f', LOCUSTFILE, '--headless', '--host', standin.url, '--csv', csv, '--only-summary', '--loglevel', 'INFO'];
    const child = spawn(cmd, args, { cwd: dir, env: { ...env, ...JOURNEYS, ...shapeEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await track(child);
    clearTimeout(timer);

    const requests = new Map<string, [number, number]>();
    if (!existsSync(`${csv}_stats.csv`)) throw new Error(`locust exited ${code} without writing its stats:\n${log}`);
    const [header, ...rows] = readFileSync(`${csv}_stats.csv`, 'utf8').trim().split('\n');
    const col = header.split(',');
    for (const row of rows) {
      const f = row.split(',');
      const get = (name: string) => f[col.indexOf(name)];
      if (get('Name') !== 'Aggregated') requests.set(`${get('Type')} ${get('Name')}`, [Number(get('Request Count')), Number(get('Failure Count'))]);
    }

    // [2026-01-01 12:00:00,123] host/INFO/locust.runners: message
    const events: { t: number; message: string }[] = [];
    for (const m of log.matchAll(/^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3})\] \S+\/INFO\/locust\.runners: (.*)$/gm)) {
      const [y, mo, d, h, mi, s, ms] = m.slice(1, 8).map(Number);
      events.push({ t: Date.UTC(y, mo - 1, d, h, mi, s, ms) / 1000, message: m[8] });
    }
    const matching = (re: RegExp) =>
      events.flatMap((e) => {
        const m = re.exec(e.message);
        return m ? [{ t: e.t, users: Number(m[1]) }] : [];
      });
    const targets = matching(/^Shape test updating to (\d+) users/);
    const spawned = matching(/^All users spawned: .* \((\d+) total users\)/);
    const t0 = targets[0]?.t ?? NaN;
    const stop = events.find((e) => e.message === 'Shape test stopping');
    const rel = (xs: { t: number; users: number }[]) => xs.map((x) => ({ t: x.t - t0, users: x.users }));
    return { code, log, requests, standin: await standin.stats(), targets: rel(targets), spawned: rel(spawned), stoppedAt: (stop?.t ?? NaN) - t0 };
  } finally {
    await standin.close();
  }
}

const ROUTE_OF: Record<string, string> = {
  'GET /': 'GET /',
  'POST /setCurrency': 'POST /setCurrency',
  'GET /product/[id]': 'GET /product/{id}',
  'POST /cart': 'POST /cart',
  'GET /cart': 'GET /cart',
  'POST /cart/checkout': 'POST /cart/checkout',
  'POST /cart/empty': 'POST /cart/empty',
};

withLocust('locustfile.py under Locust, against the stand-in', () => {
  let dir: string;
  const runs: Record<'daily' | 'flash-sale' | 'trace', Run> = {} as never;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amadeus-locust-'));
    const trace = join(dir, 'trace.csv');
    writeFileSync(
      trace,
      [
        'timestamp,requests,observed',
        '2024-05-01T00:00:00-04:00,100,1',
        '2024-05-01T00:01:00-04:00,100,1',
        '2024-05-01T00:02:00-04:00,400,1',
        '2024-05-01T00:03:00-04:00,0,0', // unobserved: holds 400
        '2024-05-01T00:04:00-04:00,3,', // unobserved (empty flag): holds 400
        '2024-05-01T00:05:00-04:00,200,1',
        // 00:06 missing: holds 200
        '2024-05-01T00:07:00-04:00,100,1',
        '2024-05-01T00:08:00-04:00,100,1',
        '',
      ].join('\n'),
    );
    // The three runs go side by side: the shapes follow Locust's clock, so sharing the cores only
    // coarsens the timing, which the assertions allow for.
    const [daily, flash, replay] = await Promise.all([
      runLocust(mkdtempSync(join(dir, 'daily-')), { AMADEUS_SHAPE: 'daily', DAY_SECONDS: '8', PEAK_USERS: '8' }),
      runLocust(mkdtempSync(join(dir, 'flash-')), {
        AMADEUS_SHAPE: 'flash-sale',
        BASE_USERS: '2',
        FLASH_MULTIPLIER: '3',
        FLASH_START_SECONDS: '2',
        FLASH_DURATION_SECONDS: '3',
        FLASH_TOTAL_SECONDS: '8',
      }),
      runLocust(mkdtempSync(join(dir, 'trace-')), { AMADEUS_SHAPE: 'trace', TRACE_CSV: trace, TRACE_SPEED: '60', PEAK_USERS: '8' }),
    ]);
    runs.daily = daily;
    runs['flash-sale'] = flash;
    runs.trace = replay;
  }, 90_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(['daily', 'flash-sale', 'trace'] as const)('%s: exits 0 with no failed request and no request off the routes', (shape) => {
    const run = runs[shape];
    if (run.code !== 0) throw new Error(`locust exited ${run.code}:\n${run.log}`);
    expect(run.log).not.toMatch(/Traceback/);
    expect(run.standin.unknown).toEqual({});
    expect(run.standin.rejected).toEqual({});
    expect(run.requests.size).toBeGreaterThan(0);
    for (const [key, [count, failures]] of run.requests) {
      // Request names are the route templates: product ids do not explode the stats.
      expect(Object.keys(ROUTE_OF)).toContain(key);
      expect(failures).toBe(0);
      // The stand-in saw at least what Locust counted (it records before answering).
      expect(run.standin.routes[ROUTE_OF[key]]).toBeGreaterThanOrEqual(count);
    }
    // POST /cart is followed to GET /cart, as a browser follows the frontend's redirect.
    const n = (key: string) => run.requests.get(key)?.[0] ?? 0;
    expect(run.standin.routes['GET /cart'] ?? 0).toBeGreaterThanOrEqual(n('GET /cart') + n('POST /cart'));
  });

  it('the journeys reach every page a shopper uses', () => {
    const total = (route: string) => Object.values(runs).reduce((sum, run) => sum + (run.standin.routes[route] ?? 0), 0);
    for (const route of ['GET /', 'POST /setCurrency', 'GET /product/{id}', 'POST /cart', 'GET /cart', 'POST /cart/checkout']) {
      expect({ route, requests: total(route) }).toEqual({ route, requests: expect.any(Number) });
      if (total(route) === 0) throw new Error(`no request to ${route} in any run`);
    }
    // Browsing outnumbers adding to the cart, which outnumbers checking out.
    expect(total('GET /product/{id}')).toBeGreaterThan(total('POST /cart'));
    expect(total('POST /cart')).toBeGreaterThan(total('POST /cart/checkout'));
  });

  it('flash sale: 2 users, 6 from second 2 for 3 s, 2 again, stop at 8 s', () => {
    const run = runs['flash-sale'];
    expect(run.targets.map((x) => x.users)).toEqual([2, 6, 2]);
    expect(run.spawned.map((x) => x.users)).toEqual([2, 6, 2]);
    // Ticks come about once a second: allow a second late, and some more for a busy machine.
    const [, surge, after] = run.targets;
    expect(surge.t).toBeGreaterThanOrEqual(1.9);
    expect(surge.t).toBeLessThan(4);
    expect(after.t - surge.t).toBeGreaterThan(1.9);
    expect(after.t - surge.t).toBeLessThan(4.5);
    expect(run.stoppedAt).toBeGreaterThanOrEqual(7.9);
    expect(run.stoppedAt).toBeLessThan(11);
  });

  it('daily cycle: from the trough (2) up to the peak (8) and down again, stop at 8 s', () => {
    const run = runs.daily;
    const users = run.spawned.map((x) => x.users);
    expect(users[0]).toBe(2);
    const top = users.indexOf(Math.max(...users));
    expect(users[top]).toBeGreaterThanOrEqual(7);
    expect(users[top]).toBeLessThanOrEqual(8);
    // Smooth: up step by step, then down step by step (each logged count differs from the last).
    expect(top).toBeGreaterThanOrEqual(2);
    users.slice(1, top + 1).forEach((u, i) => expect(u).toBeGreaterThan(users[i]));
    users.slice(top + 1).forEach((u, i) => expect(u).toBeLessThan(users[top + i]));
    expect(users[users.length - 1]).toBeLessThanOrEqual(4);
    expect(run.stoppedAt).toBeGreaterThanOrEqual(7.9);
    expect(run.stoppedAt).toBeLessThan(11);
  });

  it('trace replay: users follow the requests, held through unobserved minutes, stop at 9 s', () => {
    const run = runs.trace;
    // 100,100,400,(400),(400),200,(200),100,100 requests → 2,2,8,8,8,4,4,2,2 users: no drop to 0.
    expect(run.targets.map((x) => x.users)).toEqual([2, 8, 4, 2]);
    expect(run.spawned.map((x) => x.users)).toEqual([2, 8, 4, 2]);
    const [, high, mid, low] = run.targets;
    expect(high.t).toBeGreaterThanOrEqual(1.9);
    expect(mid.t - high.t).toBeGreaterThan(1.9); // three minutes at 8 users, a second each
    expect(low.t - mid.t).toBeGreaterThan(0.9);
    expect(run.stoppedAt).toBeGreaterThanOrEqual(8.9);
    expect(run.stoppedAt).toBeLessThan(12);
  });
});
