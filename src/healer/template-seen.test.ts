/**
 * The leader's record on a ReplicaSet of the template it first saw it with (`amadeus.io/template-seen`,
 * healer.ts): what a later leader reads back. Its use across a fail-over: scenarios-edited-failover.
 */
import { templateSeenOn, templateSeenValue } from './healer.js';
import { TEMPLATE_MARK_TAG } from './known-good.js';
import { HEAL_RULES } from './rules.js';

const on = (value: string | undefined, uid = 'rs-1'): { uid: string; annotations: Record<string, string> } => ({ uid, annotations: value === undefined ? {} : { 'amadeus.io/template-seen': value } });
const seen = (value: string | undefined) => templateSeenOn(on(value), HEAL_RULES);

test('the template first seen (its hash), or null once seen edited', () => {
  expect(JSON.parse(templateSeenValue('rs-1', 'abc'))).toEqual({ for: 'rs-1', template: `${TEMPLATE_MARK_TAG}:abc` });
  expect(JSON.parse(templateSeenValue('rs-1', null))).toEqual({ for: 'rs-1', edited: true });
  expect(seen(templateSeenValue('rs-1', 'abc'))).toBe('abc');
  expect(seen(templateSeenValue('rs-1', null))).toBeNull();
});

test('nothing from a copy (another uid: kubectl rollout undo, then the Deployment controller, copy it), another build (its tag), a malformed value, or an object without uid', () => {
  expect(templateSeenOn(on(templateSeenValue('rs-1', 'abc'), 'rs-2'), HEAL_RULES)).toBeUndefined();
  expect(templateSeenOn(on(templateSeenValue('rs-1', null), 'rs-2'), HEAL_RULES)).toBeUndefined();
  expect(seen(JSON.stringify({ for: 'rs-1', template: 'cn0.0.1:abc' }))).toBeUndefined();
  for (const bad of ['', 'abc', 'null', '[]', '7', '{"for":"rs-1"}', '{"for":"rs-1","template":7}', '{"for":"rs-1","edited":"yes"}']) expect(seen(bad)).toBeUndefined();
  expect(seen(undefined)).toBeUndefined();
  expect(templateSeenOn({ annotations: { 'amadeus.io/template-seen': templateSeenValue('rs-1', 'abc') } }, HEAL_RULES)).toBeUndefined();
});
