/** A deadline on one Kubernetes request: a silent API server must not hold a renewal, a lock or a shutdown. */
export class RequestTimeout extends Error {
  override name = 'RequestTimeout';
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`);
  }
}

/** `work`, or a RequestTimeout after `ms`, whichever comes first (the request itself is left to finish). */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeout(what, ms)), ms);
    timer.unref();
  });
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
