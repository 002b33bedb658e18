/** The README documents every metadata key, serve option and simulate option, so they cannot drift apart. */
import { readFileSync } from 'node:fs';
import { SERVE_OPTIONS } from './config/serve.js';
import { SIMULATE_OPTIONS } from './config/simulate.js';
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

test('README states the two commands', () => {
  expect(readme).toContain('npm ci && npm start');
  expect(readme).toContain('npm test');
});
