/** The README documents every metadata key and every command's options, so they cannot drift apart. */
import { readFileSync } from 'node:fs';
import { EVAL_OPTIONS } from './cli/options/eval.js';
import { GENERATE_OPTIONS } from './cli/options/generate.js';
import { PROBE_OPTIONS } from './cli/options/probe.js';
import { SERVE_OPTIONS } from './cli/options/serve.js';
import { TRAIN_OPTIONS } from './cli/options/train.js';
import { SIMULATE_OPTIONS } from './cli/options/simulate.js';
import { envOf, flagOf } from './config/options.js';
import { metadataSchema } from './scaler/metadata.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test.each(Object.keys(metadataSchema()))('README documents metadata key %s', (key) => {
  // A row of the metadata table, alone or paired with its companion (`usernameFile` / `passwordFile`).
  expect(readme).toMatch(new RegExp(`^\\| (\`\\w+\` / )?\`${key}\`( / \`\\w+\`)? \\|`, 'm'));
});

test.each(Object.keys(SERVE_OPTIONS))('README documents serve option %s (flag and environment variable)', (key) => {
  expect(readme).toContain(`| \`${flagOf(key)}\` | \`${envOf(key)}\` |`);
});

test.each(Object.keys(SIMULATE_OPTIONS))('README documents simulate option %s', (key) => {
  expect(readme).toContain(`\`${flagOf(key)}`);
});

const OTHER_COMMANDS = { train: TRAIN_OPTIONS, eval: EVAL_OPTIONS, generate: GENERATE_OPTIONS, probe: PROBE_OPTIONS };
test.each(Object.entries(OTHER_COMMANDS).flatMap(([command, options]) => Object.keys(options).map((key) => [command, key])))('README documents %s option %s (flag and environment variable)', (_command, key) => {
  expect(readme).toContain(`| \`${flagOf(key)}\` | \`${envOf(key)}\` |`);
});

test('README states the two commands', () => {
  expect(readme).toContain('npm ci && npm start');
  expect(readme).toContain('npm test');
});

test("README never advises a plain `or vector(0)`: a scrape outage would read as a load of 0", () => {
  // Each PromQL span with vector(0) gates the zero on the workload really having no replicas; the one
  // plain `… or vector(0)` allowed is the warning against it.
  const spans = [...readme.matchAll(/(Not a plain )?`([^`]*vector\(0\)[^`]*)`/g)];
  expect(spans.length).toBeGreaterThan(0);
  for (const [, warning, span] of spans) if (!warning) expect(span).toMatch(/or \(vector\(0\) and on\(\) \(.+ == 0\)\)$/);
});
