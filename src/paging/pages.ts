/**
 * Reading a list the server hands out in pages (Kubernetes' limit/continue) with a bound on the
 * pages: a label gone wrong, or a server handing out continue tokens forever, must not hold the
 * caller forever nor fill its memory. The healer's lists and the replica set's Leases both read
 * this way. Ground floor: no imports; the list's shape is structural.
 */

/** One page: its items and, when more follow, the token for the next. */
export interface Page<T> {
  items: T[];
  metadata?: { _continue?: string };
}

/** Every page of a list, in order: the first and last page as the server sent them, and all items. */
export interface AllPages<L extends Page<unknown>> {
  first: L;
  last: L;
  items: L['items'];
}

/**
 * Every page of a list: `page` gets the continue token (undefined first). More than `maxPages`
 * pages fail with `tooMany()`'s error, before the next page is asked for.
 */
export async function readAllPages<L extends Page<unknown>>(page: (cont: string | undefined) => Promise<L>, maxPages: number, tooMany: () => Error): Promise<AllPages<L>> {
  const first = await page(undefined);
  const items = [...first.items];
  let last = first;
  for (let pages = 1; last.metadata?._continue; pages++) {
    if (pages >= maxPages) throw tooMany();
    last = await page(last.metadata._continue);
    items.push(...last.items);
  }
  return { first, last, items };
}
