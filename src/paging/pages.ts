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

/** A bound on the items of a list: more than `count` fail with `error(read)`, `read` the items read so far. */
export interface ItemBound {
  count: number;
  error: (read: number) => Error;
}

/**
 * Every page of a list: `page` gets the continue token (undefined first). More than `maxPages`
 * pages fail with `tooMany()`'s error, before the next page is asked for; more than
 * `maxItems.count` items fail as soon as a page brings them, so at most one page more than the
 * bound is ever held.
 */
export async function readAllPages<L extends Page<unknown>>(page: (cont: string | undefined) => Promise<L>, maxPages: number, tooMany: () => Error, maxItems?: ItemBound): Promise<AllPages<L>> {
  const first = await page(undefined);
  const items = [...first.items];
  const checkItems = () => {
    if (maxItems && items.length > maxItems.count) throw maxItems.error(items.length);
  };
  checkItems();
  let last = first;
  for (let pages = 1; last.metadata?._continue; pages++) {
    if (pages >= maxPages) throw tooMany();
    last = await page(last.metadata._continue);
    items.push(...last.items);
    checkItems();
  }
  return { first, last, items };
}
