/** Which source a trigger gets: Prometheus with a `query`; the replay source only when turned on. */
import { parseOptions } from '../config/options.js';
import { SERVE_OPTIONS } from './options/serve.js';
import { createMetadataParser, InvalidRequestError } from '../scaler/metadata.js';
import { silentLogger } from '../telemetry/logger.js';
import { DEMO_OBJECT, sourceCheck, sourceFactory } from './serve.js';

const parse = createMetadataParser();
const factory = (argv: string[]) => sourceFactory(parseOptions(SERVE_OPTIONS, argv, {}), null, silentLogger);

// A trigger without a query read the replay generator whenever --prometheus-url was unset, as in
// the base manifests: a real Deployment scaled on synthetic load.
test('by default a trigger without a query is INVALID_ARGUMENT naming query and how to get the replay source; one with a query reads Prometheus', () => {
  const f = factory([]);
  expect(() => f(parse({ targetValue: '1' }))).toThrow(InvalidRequestError);
  expect(() => f(parse({ targetValue: '1' }))).toThrow('metadata "query" is required: PromQL returning the workload\'s load, one series (the replay source\'s synthetic load, for demos and tests, needs amadeus serve --replay)');
  const prom = f(parse({ targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up' }));
  expect(prom.description).toBe('prometheus:http://127.0.0.1:9');
  prom.close();
  expect(() => f(parse({ targetValue: '1', query: 'up' }))).toThrow('metadata "serverAddress" is required with "query"');
  expect(() => f(parse({ targetValue: '1', serverAddress: 'http://127.0.0.1:9' }))).toThrow(/metadata "query" is required/);
});

test.each([['--replay'], ['--demo'], ['--replay-trace=unread.csv']])('%s turns the replay source on for triggers without a query (and without serverAddress)', (flag) => {
  const f = factory([flag]);
  const replay = f(parse({ targetValue: '1' }));
  expect(replay.description).toMatch(/^replay:generator/);
  replay.close();
  const prom = f(parse({ targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up' }));
  expect(prom.description).toBe('prometheus:http://127.0.0.1:9');
  prom.close();
  expect(() => f(parse({ targetValue: '1', serverAddress: 'http://127.0.0.1:9' }))).toThrow(/metadata "query" is required/);
});

test('with --prometheus-url: the default server of triggers with a query; one without is still refused', () => {
  const f = factory(['--prometheus-url', 'http://user:secret@127.0.0.1:9090']);
  const s = f(parse({ targetValue: '1', query: 'sum(rate(x[1m]))' }));
  expect(s.description).toBe('prometheus:http://127.0.0.1:9090'); // never the credentials
  s.close();
  expect(() => f(parse({ targetValue: '1' }))).toThrow(InvalidRequestError);
  expect(() => f(parse({ targetValue: '1' }))).toThrow(/metadata "query" is required/);
});

// `--demo --prometheus-url` refused the demo object's every refresh with `metadata "query" is
// required`, metadata the user never wrote.
test('--demo with --prometheus-url: the demo object reads the replay source', () => {
  const demo = factory(['--demo', '--prometheus-url', 'http://127.0.0.1:9090'])(parse(DEMO_OBJECT.metadata));
  expect(demo.description).toMatch(/^replay:generator/);
  demo.close();
});

test('credential files only from --prometheus-credentials-dir: anything else is the metadata\'s error, naming the key', () => {
  const f = factory(['--prometheus-credentials-dir', '/etc/amadeus/prom']);
  const meta = (over: Record<string, string>) => parse({ targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up', ...over });
  // The scaler's own service-account token, sent to a server of the ScaledObject author's choosing: refused.
  const stolen = meta({ authModes: 'bearer', bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
  expect(() => f(stolen)).toThrow(InvalidRequestError);
  expect(() => f(stolen)).toThrow('metadata "bearerTokenFile" must name a file under --prometheus-credentials-dir (/etc/amadeus/prom)');
  expect(() => f(meta({ authModes: 'tls', caFile: '../ca.crt' }))).toThrow(/metadata "caFile" must name a file under/);
  const ok = f(meta({ authModes: 'bearer', bearerTokenFile: 'team-a/token' }));
  expect(ok.description).toBe('prometheus:http://127.0.0.1:9');
  ok.close();
  // The default directory applies without the flag.
  expect(() => factory([])(stolen)).toThrow('(/etc/amadeus/prometheus-credentials)');
});

test.each([[[]], [['--replay']]])('the check GetMetricSpec runs while the registry is full refuses exactly what the factory refuses (%j)', (more) => {
  const argv = ['--prometheus-credentials-dir', '/etc/amadeus/prom', ...more];
  const f = factory(argv);
  const check = sourceCheck(parseOptions(SERVE_OPTIONS, argv, {}));
  const cases: Record<string, string>[] = [
    { targetValue: '1' },
    { targetValue: '1', query: 'up' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up', authModes: 'bearer', bearerTokenFile: '/var/run/secrets/token' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up', authModes: 'bearer', bearerTokenFile: 'team-a/token' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', authModes: 'tls' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9' },
  ];
  for (const meta of cases) {
    const config = parse(meta);
    let made: string;
    try {
      const s = f(config);
      s.close();
      made = 'ok';
    } catch (err) {
      made = (err as Error).message;
    }
    let checked = 'ok';
    try {
      check(config);
    } catch (err) {
      checked = (err as Error).message;
    }
    expect(checked).toBe(made);
  }
});
