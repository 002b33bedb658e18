import { readAllPages, type Page } from './pages.js';

/** A server holding `items`, handing them out `per` a page with numeric continue tokens. */
function server(items: number[], per: number) {
  const asked: (string | undefined)[] = [];
  const page = async (cont: string | undefined): Promise<Page<number>> => {
    asked.push(cont);
    const from = cont ? Number(cont) : 0;
    const next = from + per < items.length ? String(from + per) : undefined;
    return { items: items.slice(from, from + per), metadata: { _continue: next } };
  };
  return { page, asked };
}

const refused = () => new Error('too many pages');

test('a list in one page is read with one call', async () => {
  const s = server([1, 2, 3], 10);
  const all = await readAllPages(s.page, 5, refused);
  expect(all.items).toEqual([1, 2, 3]);
  expect(all.first).toBe(all.last);
  expect(s.asked).toEqual([undefined]);
});

test('every page is read in order, each with the token the one before gave', async () => {
  const s = server([1, 2, 3, 4, 5, 6, 7], 3);
  const all = await readAllPages(s.page, 3, refused);
  expect(all.items).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(s.asked).toEqual([undefined, '3', '6']);
  expect(all.first.items).toEqual([1, 2, 3]);
  expect(all.last.items).toEqual([7]);
});

test('a list needing more than maxPages pages fails before the next page is asked for', async () => {
  const s = server([1, 2, 3, 4, 5, 6, 7], 3);
  await expect(readAllPages(s.page, 2, refused)).rejects.toThrow('too many pages');
  expect(s.asked).toEqual([undefined, '3']);
});

test('a server handing out continue tokens forever is refused at the bound', async () => {
  let calls = 0;
  const endless = async (): Promise<Page<number>> => ({ items: [calls++], metadata: { _continue: 'again' } });
  await expect(readAllPages(endless, 4, refused)).rejects.toThrow('too many pages');
  expect(calls).toBe(4);
});

test('a failed page fails the whole read', async () => {
  const s = server([1, 2, 3, 4], 2);
  const failing = (cont: string | undefined) => (cont ? Promise.reject(new Error('page 2 lost')) : s.page(cont));
  await expect(readAllPages(failing, 5, refused)).rejects.toThrow('page 2 lost');
});

test('a list of more items than the bound fails on the page that brings them, before the next is asked for', async () => {
  const s = server([1, 2, 3, 4, 5, 6, 7], 3);
  const bound = { count: 4, error: (read: number) => new Error(`${read} items, more than 4`) };
  await expect(readAllPages(s.page, 10, refused, bound)).rejects.toThrow('6 items, more than 4');
  expect(s.asked).toEqual([undefined, '3']);
  // At the bound exactly, the list is read whole.
  expect((await readAllPages(server([1, 2, 3, 4], 3).page, 10, refused, bound)).items).toEqual([1, 2, 3, 4]);
  // The first page alone can exceed it.
  await expect(readAllPages(server([1, 2, 3, 4, 5], 10).page, 10, refused, bound)).rejects.toThrow('5 items');
});
