/** `amadeus train`'s bad input: a trace it cannot use is a usage error naming the file, before any work starts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../config/options.js';
import { runTrain } from './train.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amadeus-train-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const train = (trace: string) => runTrain(['--trace', trace, '--out', join(dir, 'model')], {});

test('a missing trace, a directory or a malformed one: a usage error naming the file (exit 2), as eval and simulate say it', async () => {
  const missing = join(dir, 'missing.csv');
  await expect(train(missing)).rejects.toThrow(new UsageError(`--trace: no such file "${missing}"`));
  await expect(train(dir)).rejects.toThrow(UsageError);
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'timestamp,requests\n2024-01-01T00:00:00-04:00,abc\n');
  await expect(train(bad)).rejects.toThrow(new UsageError(`--trace: ${bad}:2: requests is not a number: "abc"`));
});

test('an --out that cannot be a directory: a usage error before training, not after it', async () => {
  const trace = join(dir, 'trace.csv');
  writeFileSync(trace, 'timestamp,requests\n2024-01-01T00:00:00-04:00,1\n');
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  await expect(runTrain(['--trace', trace, '--out', file], {})).rejects.toThrow(new UsageError(`--out: cannot create the directory "${file}": EEXIST`));
});

test('an --out directory that cannot be written in: a usage error before training, not after it', async () => {
  const trace = join(dir, 'trace.csv');
  writeFileSync(trace, 'timestamp,requests\n2024-01-01T00:00:00-04:00,1\n');
  // A directory that exists and that no user, root included, may create files in.
  await expect(runTrain(['--trace', trace, '--out', '/proc/self'], {})).rejects.toThrow(new UsageError('--out: cannot write in the directory "/proc/self": permission denied'));
});
