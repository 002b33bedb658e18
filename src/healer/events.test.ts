/** Event bodies (issue 19, defect 9): the message fits Kubernetes' 1 KiB in UTF-8 bytes, not UTF-16 units. */
import { eventBody } from './events.js';

const workload = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'u' };
const body = (message: string) => eventBody({ workload, reason: 'HealRefused', action: 'rollback', message, warning: true }, 'amadeus-0', Date.UTC(2024, 4, 14));
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

test.each([
  ['ASCII', 'x'.repeat(5000)],
  ['3-byte characters (€)', '€'.repeat(2000)],
  ['4-byte characters (emoji, surrogate pairs in UTF-16)', '🔥'.repeat(1000)],
  ['mixed', 'é€🔥a'.repeat(500)],
])('a long message of %s is cut to at most 1,024 bytes, ellipsis included, on a character boundary', (_what, message) => {
  const out = body(message).message!;
  expect(bytes(out)).toBeLessThanOrEqual(1024);
  expect(bytes(out)).toBeGreaterThan(1024 - 8);
  expect(out.endsWith('…')).toBe(true);
  expect(out).not.toContain('\uFFFD');
  expect(message.startsWith(out.slice(0, -1))).toBe(true); // no half character, no lone surrogate
  expect(/[\uD800-\uDBFF]$/.test(out.slice(0, -1))).toBe(false);
});

test('a message within 1,024 bytes is kept whole', () => {
  const message = '€'.repeat(341); // 1,023 bytes
  expect(body(message).message).toBe(message);
  expect(body('x'.repeat(1024)).message).toBe('x'.repeat(1024));
});
