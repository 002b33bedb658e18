/** Bounded, non-blocking reads of the small files the process is pointed at. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFailure, readSmallFile, SmallFileError } from './small-file.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'small-file-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a regular file within the cap is read whole; at the cap too', () => {
  writeFileSync(join(dir, 'token'), 'xoxb-123\n');
  expect(readSmallFile(join(dir, 'token'), 64).toString()).toBe('xoxb-123\n');
  writeFileSync(join(dir, 'exact'), 'x'.repeat(64));
  expect(readSmallFile(join(dir, 'exact'), 64)).toHaveLength(64);
});

test('a file larger than the cap is refused, not cut short', () => {
  writeFileSync(join(dir, 'big'), 'x'.repeat(65));
  expect(() => readSmallFile(join(dir, 'big'), 64)).toThrow(new SmallFileError('larger than 64 bytes'));
});

test('a FIFO is refused at once (nothing is writing to it: a blocking read would wait for ever), and so is a device', () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  expect(() => readSmallFile(fifo, 64)).toThrow(new SmallFileError('not a regular file'));
  expect(() => readSmallFile('/dev/zero', 64)).toThrow(new SmallFileError('not a regular file'));
  expect(() => readSmallFile(dir, 64)).toThrow(new SmallFileError('not a regular file'));
});

test('a missing file says its errno code; a link is refused when asked not to follow one', () => {
  expect(() => readSmallFile(join(dir, 'missing'), 64)).toThrow(new SmallFileError('ENOENT'));
  writeFileSync(join(dir, 'real'), 'ok');
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  expect(readSmallFile(join(dir, 'link'), 64).toString()).toBe('ok');
  expect(() => readSmallFile(join(dir, 'link'), 64, { noFollow: true })).toThrow(new SmallFileError('ELOOP'));
});

test('readFailure gives the reason alone, whatever failed', () => {
  expect(readFailure(new SmallFileError('not a regular file'))).toBe('not a regular file');
  expect(readFailure(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('EACCES');
});
