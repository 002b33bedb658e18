import { parseOptionsGiven } from '../config/options.js';
import { SERVE_OPTIONS } from './options/serve.js';
import { demoDefaults } from './demo.js';

const demo = (argv: string[], env: Record<string, string> = {}) => {
  const { opts, given } = parseOptionsGiven(SERVE_OPTIONS, argv, env);
  const out = demoDefaults(opts, given);
  return { heal: out.opts.heal, replicas: out.opts.replicas, off: out.off };
};

// `serve --demo` (npm start) ran the healer and joined a replica set on whatever cluster the
// laptop's kubeconfig pointed at.
test('--demo turns the healer and replica Leases off unless --heal / --replicas or their variables were given', () => {
  expect(demo(['--demo'])).toEqual({ heal: 'off', replicas: 'off', off: ['heal', 'replicas'] });
  expect(demo(['--demo', '--heal', 'auto'])).toEqual({ heal: 'auto', replicas: 'off', off: ['replicas'] });
  expect(demo(['--demo'], { AMADEUS_REPLICAS: 'on' })).toEqual({ heal: 'off', replicas: 'on', off: ['heal'] });
  expect(demo(['--demo', '--heal=off'])).toEqual({ heal: 'off', replicas: 'off', off: ['replicas'] });
  // Without --demo, the defaults stand.
  expect(demo([])).toEqual({ heal: 'auto', replicas: 'auto', off: [] });
  expect(demo(['--no-demo'], { AMADEUS_DEMO: 'true' })).toEqual({ heal: 'auto', replicas: 'auto', off: [] });
  expect(demo([], { AMADEUS_DEMO: 'true' })).toEqual({ heal: 'off', replicas: 'off', off: ['heal', 'replicas'] });
});

// `--demo --no-replay` still replayed: --demo's object and the triggers without a query were served
// synthetic load though the user had said no replay.
test('--no-replay beside --demo or --replay-trace is refused, naming both', () => {
  expect(() => demo(['--demo', '--no-replay'])).toThrow(/--demo serves from the replay source: it cannot be given with --no-replay/);
  expect(() => demo(['--demo'], { AMADEUS_REPLAY: 'false' })).toThrow(/--demo .* --no-replay/);
  expect(() => demo(['--replay-trace', 'x.csv', '--no-replay'])).toThrow(/--replay-trace serves from the replay source/);
  expect(demo(['--no-replay'])).toEqual({ heal: 'auto', replicas: 'auto', off: [] });
  expect(demo(['--demo', '--replay'])).toEqual({ heal: 'off', replicas: 'off', off: ['heal', 'replicas'] });
});
