/**
 * Credential files named by ScaledObject metadata (`bearerTokenFile`, `caFile`, …). Whoever writes a
 * ScaledObject chooses those paths, and the scaler's own service-account token is a file too: with
 * a `serverAddress` of their own, any path would hand them that token, or `/dev/zero` would exhaust
 * the process's memory and a FIFO would block it for good. So a path counts only inside the one
 * directory the operator mounted credentials into, and only a small regular file is read.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { readSmallFile, SmallFileError } from '../files/small-file.js';

/** Certificates, keys, tokens and passwords fit well inside this; anything larger is not one. */
export const MAX_CREDENTIAL_BYTES = 64 * 1024;

/** `value` as a path inside `dir` (relative values are taken from `dir`), or null when it leads out. */
export function credentialPath(dir: string, value: string): string | null {
  const path = resolve(dir, value);
  return inside(resolve(dir), path) ? path : null;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

export class CredentialFileError extends Error {
  override name = 'CredentialFileError';
  constructor(
    message: string,
    /**
     * The path itself is wrong (outside the directory, not a regular file, too large): the metadata
     * naming it must change. False for an errno (ENOENT: a Secret not mounted yet), which may pass.
     */
    readonly permanent = false,
  ) {
    super(message);
  }
}

/**
 * Reads a credential file inside `dir`. Symbolic links are followed (a mounted Secret is a chain of
 * them) but must end inside `dir`; the file is opened without blocking, so a FIFO or device fails
 * at once instead of hanging the event loop.
 */
export function readCredentialFile(dir: string, value: string, maxBytes = MAX_CREDENTIAL_BYTES): Buffer {
  const path = credentialPath(dir, value);
  if (path === null) throw new CredentialFileError(`not under the credentials directory ${dir}`, true);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new CredentialFileError((err as NodeJS.ErrnoException).code ?? 'cannot resolve');
  }
  if (!inside(realpathSync(dir), real)) throw new CredentialFileError(`leads out of the credentials directory ${dir}`, true);
  try {
    return readSmallFile(real, maxBytes, { noFollow: true });
  } catch (err) {
    if (!(err instanceof SmallFileError)) throw new CredentialFileError('cannot read');
    throw new CredentialFileError(err.message, err.permanent);
  }
}
