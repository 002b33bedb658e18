/** Which source a ScaledObject gets: `--prometheus-url` makes Prometheus the default. */
import { parseOptions } from '../config/options.js';
import { SERVE_OPTIONS } from './options/serve.js';
import { createMetadataParser, InvalidRequestError } from '../scaler/metadata.js';
import { silentLogger } from '../telemetry/logger.js';
import { sourceCheck, sourceFactory } from './serve.js';

const parse = createMetadataParser();
const factory = (argv: string[]) => sourceFactory(parseOptions(SERVE_OPTIONS, argv, {}), null, silentLogger);

test('without --prometheus-url: the replay source, unless the metadata names a query', () => {
  const f = factory([]);
  const replay = f(parse({ targetValue: '1' }));
  expect(replay.description).toMatch(/^replay:generator/);
  replay.close();
  const prom = f(parse({ targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up' }));
  expect(prom.description).toBe('prometheus:http://127.0.0.1:9');
  prom.close();
  expect(() => f(parse({ targetValue: '1', query: 'up' }))).toThrow('metadata "serverAddress" is required with "query"');
});

test('with --prometheus-url: Prometheus is the default, and a query is required', () => {
  const f = factory(['--prometheus-url', 'http://user:secret@127.0.0.1:9090']);
  const s = f(parse({ targetValue: '1', query: 'sum(rate(x[1m]))' }));
  expect(s.description).toBe('prometheus:http://127.0.0.1:9090'); // never the credentials
  s.close();
  expect(() => f(parse({ targetValue: '1' }))).toThrow(InvalidRequestError);
  expect(() => f(parse({ targetValue: '1' }))).toThrow(/metadata "query" is required/);
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

test('the check GetMetricSpec runs while the registry is full refuses exactly what the factory refuses', () => {
  const argv = ['--prometheus-credentials-dir', '/etc/amadeus/prom'];
  const f = factory(argv);
  const check = sourceCheck(parseOptions(SERVE_OPTIONS, argv, {}));
  const cases: Record<string, string>[] = [
    { targetValue: '1' },
    { targetValue: '1', query: 'up' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up', authModes: 'bearer', bearerTokenFile: '/var/run/secrets/token' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', query: 'up', authModes: 'bearer', bearerTokenFile: 'team-a/token' },
    { targetValue: '1', serverAddress: 'http://127.0.0.1:9', authModes: 'tls' },
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
