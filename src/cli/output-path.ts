/**
 * The files and directories a command writes, checked before its work starts — a wrong path then
 * costs a usage error naming the flag, not a whole simulation, Prometheus download or training —
 * and written with errors that name the flag rather than a stack trace.
 */
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../config/options.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/** A file system error in a few words: what it means for the common codes, else its code. */
export function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === undefined ? String(err) : (REASONS[code] ?? code);
}

/** A file the command will write: not a directory, and in a directory that exists and may be written. */
export function checkOutputFile(path: string, flag: string): void {
  const fail = (why: string) => new UsageError(`${flag}: cannot write "${path}": ${why}`);
  let exists = true;
  try {
    if (statSync(path).isDirectory()) throw fail('it is a directory');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(fsReason(err));
    exists = false;
  }
  const dir = dirname(resolve(path));
  try {
    if (!exists && !statSync(dir).isDirectory()) throw Object.assign(new Error(dir), { code: 'ENOTDIR' });
    accessSync(exists ? path : dir, constants.W_OK);
  } catch (err) {
    throw fail(fsReason(err));
  }
}

/** A directory the command will write files in: created if missing, and writable. */
export function checkOutputDir(path: string, flag: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new UsageError(`${flag}: cannot create the directory "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    throw new UsageError(`${flag}: cannot write in the directory "${path}": ${fsReason(err)}`);
  }
}

/** Writes a whole file; a failure (a full disk, a path gone since the check) names the flag. */
export function writeOutputFile(path: string, data: string, flag: string): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    throw new Error(`${flag}: cannot write "${path}": ${fsReason(err)}`, { cause: err });
  }
}
