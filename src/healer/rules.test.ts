import { GiB, MiB } from './quantity.js';
import { HEAL_ANNOTATIONS, HEAL_PREFIX, HEAL_RULES, isDryRun, isHealEnabled, resolveHealRules } from './rules.js';

test('defaults', () => {
  expect(HEAL_RULES).toMatchObject({
    oomFactor: 1.2,
    oomMinBumpBytes: 100 * MiB,
    crashLoopMinRestarts: 2,
    knownGoodSeconds: 600,
    oomCooldownSeconds: 3600,
    rollbackCooldownSeconds: 14_400,
    maxActionsPerHour: 10,
    globalMemoryCapBytes: 8 * GiB,
    quotaMinRaiseShare: 0.25,
  });
  expect(Object.isFrozen(HEAL_RULES)).toBe(true);
});

test('every annotation lives under amadeus.io/', () => {
  expect(HEAL_PREFIX).toBe('amadeus.io/');
  for (const name of Object.values(HEAL_ANNOTATIONS)) expect(name.startsWith(HEAL_PREFIX)).toBe(true);
  expect(HEAL_ANNOTATIONS).toMatchObject({
    heal: 'amadeus.io/heal',
    maxMemory: 'amadeus.io/max-memory',
    lastOomBump: 'amadeus.io/last-oom-bump',
    lastRollback: 'amadeus.io/last-rollback',
    dryRun: 'amadeus.io/heal-dry-run',
    readySince: 'amadeus.io/ready-since',
    knownGood: 'amadeus.io/known-good',
  });
});

describe('resolveHealRules', () => {
  test('no overrides: the defaults', () => {
    expect(resolveHealRules()).toEqual(HEAL_RULES);
    expect(resolveHealRules({ oomFactor: undefined })).toEqual(HEAL_RULES);
  });

  test('overrides merge; byte sizes accept quantities; defaults untouched', () => {
    const r = resolveHealRules({ oomFactor: 1.5, globalMemoryCapBytes: '16Gi', oomMinBumpBytes: 64 * MiB, knownGoodSeconds: 0 });
    expect(r).toMatchObject({ oomFactor: 1.5, globalMemoryCapBytes: 16 * GiB, oomMinBumpBytes: 64 * MiB, knownGoodSeconds: 0, maxActionsPerHour: 10 });
    expect(r.annotations).toBe(HEAL_ANNOTATIONS);
    expect(HEAL_RULES.oomFactor).toBe(1.2);
  });

  test.each([
    [{ oomFactor: 1 }, 'oomFactor'],
    [{ oomFactor: 0.8 }, 'oomFactor'],
    [{ oomFactor: Number.NaN }, 'oomFactor'],
    [{ oomMinBumpBytes: -1 }, 'oomMinBumpBytes'],
    [{ oomMinBumpBytes: 'a lot' }, 'oomMinBumpBytes'],
    [{ crashLoopMinRestarts: 0 }, 'crashLoopMinRestarts'],
    [{ crashLoopMinRestarts: 1.5 }, 'crashLoopMinRestarts'],
    [{ knownGoodSeconds: -5 }, 'knownGoodSeconds'],
    [{ oomCooldownSeconds: Number.POSITIVE_INFINITY }, 'oomCooldownSeconds'],
    [{ rollbackCooldownSeconds: -1 }, 'rollbackCooldownSeconds'],
    [{ maxActionsPerHour: 0 }, 'maxActionsPerHour'],
    [{ globalMemoryCapBytes: '-8Gi' }, 'globalMemoryCapBytes'],
    [{ globalMemoryCapBytes: 1000 }, 'globalMemoryCapBytes'],
    [{ quotaMinRaiseShare: 1.5 }, 'quotaMinRaiseShare'],
    [{ quotaMinRaiseShare: -0.1 }, 'quotaMinRaiseShare'],
    [{ crashLoopMinRestarts: '3' }, 'crashLoopMinRestarts'],
    [{ oomFactr: 1.3 }, 'oomFactr'],
    [{ annotations: {} }, 'annotations'],
  ])('%j is a RangeError naming %s', (overrides, field) => {
    const call = () => resolveHealRules(overrides as never);
    expect(call).toThrow(RangeError);
    expect(call).toThrow(field);
  });
});

test('opt-in and dry-run annotations', () => {
  expect(isHealEnabled({ 'amadeus.io/heal': 'true' })).toBe(true);
  expect(isHealEnabled({ 'amadeus.io/heal': 'True' })).toBe(true);
  expect(isHealEnabled({ 'amadeus.io/heal': 'false' })).toBe(false);
  expect(isHealEnabled({ 'amadeus.io/heal': 'yes' })).toBe(false);
  expect(isHealEnabled({})).toBe(false);
  expect(isHealEnabled(undefined)).toBe(false);
  expect(isDryRun({ 'amadeus.io/heal-dry-run': 'true' })).toBe(true);
  expect(isDryRun({ 'amadeus.io/heal': 'true' })).toBe(false);
});

// Issue 19, defect 2: the share of the newest revision's pods that must crash-loop for a rollback.
describe('crashLoopShare', () => {
  test('defaults to more than half; any share in (0, 1]', () => {
    expect(HEAL_RULES.crashLoopShare).toBe(0.5);
    expect(resolveHealRules({ crashLoopShare: 1 }).crashLoopShare).toBe(1);
    for (const bad of [0, -0.1, 1.01, Number.NaN]) expect(() => resolveHealRules({ crashLoopShare: bad })).toThrow(/crashLoopShare must be a number in \(0, 1\]/);
  });
});
