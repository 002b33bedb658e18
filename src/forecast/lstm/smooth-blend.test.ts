import { seededRandom } from '../../test-support/cluster/util.js';
import { applyBlend } from './blend.js';
import { requestLevel, windowRoughness } from './features.js';
import type { Blend } from './blend.js';
import { blendInUse, resolveBlend, SMOOTH_DEFAULT, SMOOTH_WEIGHT, smoothWeight } from './smooth-blend.js';

const HISTORY = 60;

/** The default blend for the window ending before `end`, from its level and noise as writeWindow reads them. */
function smoothBlend(requests: (number | null)[], end: number, history: number): Blend {
  const level = requestLevel(requests, end, history);
  if (level === null) return { baseline: 'persistence', weight: 0 };
  return smoothWeight(level, windowRoughness(requests, end - history, end, level > 0 ? 1 / level : 0), history);
}

/** `n` minutes around `level`, each off by up to ±`noise` of it (uniform), seeded. */
function noisy(level: number, noise: number, n = HISTORY, seed = 3): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => level * (1 + noise * (2 * r() - 1)));
}

test('smooth traffic of thousands a minute gets the full weight toward persistence; NASA-like noise none', () => {
  // ±1% a minute: steady roughness well under SMOOTH_FULL.
  expect(smoothBlend(noisy(5000, 0.01), HISTORY, HISTORY)).toEqual({ baseline: 'persistence', weight: SMOOTH_WEIGHT });
  // ±40% a minute, as a few dozen requests a minute are.
  expect(smoothBlend(noisy(50, 0.4), HISTORY, HISTORY).weight).toBe(0);
  // A flat series has no noise at all.
  expect(smoothBlend(Array.from({ length: HISTORY }, () => 700), HISTORY, HISTORY).weight).toBe(SMOOTH_WEIGHT);
});

test('the weight falls as the window gets rougher, and is unit-free', () => {
  const weights = [0.01, 0.03, 0.04, 0.05, 0.08].map((noise) => smoothBlend(noisy(3000, noise), HISTORY, HISTORY).weight);
  for (let i = 1; i < weights.length; i++) expect(weights[i]!).toBeLessThanOrEqual(weights[i - 1]!);
  expect(weights[0]).toBe(SMOOTH_WEIGHT);
  expect(weights[4]).toBe(0);
  expect(weights.some((w) => w > 0 && w < SMOOTH_WEIGHT)).toBe(true);
  // Requests a second or a minute: the same decision.
  const perMinute = noisy(3000, 0.04);
  expect(smoothBlend(perMinute.map((v) => v / 60), HISTORY, HISTORY).weight).toBeCloseTo(smoothBlend(perMinute, HISTORY, HISTORY).weight, 12);
});

test('only the window counts, and a window of gaps or of zeros gets no blend', () => {
  const rough = noisy(50, 0.4, 200);
  const smooth = noisy(5000, 0.01, HISTORY);
  expect(smoothBlend([...rough, ...smooth], rough.length + HISTORY, HISTORY).weight).toBe(SMOOTH_WEIGHT);
  expect(smoothBlend([...smooth, ...rough], smooth.length + rough.length, HISTORY).weight).toBe(0);
  // Every other minute missing: no pair of consecutive minutes to read the noise from.
  const gappy = smooth.map((v, i) => (i % 2 === 0 ? v : null));
  expect(smoothBlend(gappy, HISTORY, HISTORY).weight).toBe(0);
  expect(smoothBlend(Array.from({ length: HISTORY }, () => 0), HISTORY, HISTORY).weight).toBe(0);
});

test('the shipped weights answer with the default; a round\'s choice, or a round\'s choice of none, replaces it', () => {
  expect(blendInUse({})).toBe(SMOOTH_DEFAULT);
  expect(blendInUse({ blend: { baseline: 'mean10', weight: 0.25 } })).toEqual({ baseline: 'mean10', weight: 0.25 });
  const fineTuned = { workload: 'default/api', at: '2026-12-05T00:00:00Z', rounds: 1, lastHoldoutLoss: 0.1, baseHoldoutLoss: 0.2 };
  expect(blendInUse({ fineTuned })).toBeUndefined();
  const smooth = noisy(5000, 0.01);
  // The window's level and noise as prepareBatch has them from writing the features.
  const level = requestLevel(smooth, HISTORY, HISTORY)!;
  const noise = windowRoughness(smooth, 0, HISTORY, 1 / level);
  expect(resolveBlend(SMOOTH_DEFAULT, level, noise, HISTORY)).toEqual({ baseline: 'persistence', weight: SMOOTH_WEIGHT });
  expect(resolveBlend(undefined, level, noise, HISTORY)).toBeUndefined();
});

test('applied, the default pulls a smooth window\'s forecast halfway to the latest minute', () => {
  const smooth = noisy(5000, 0.01);
  const latest = smooth[smooth.length - 1]!;
  const b = smoothBlend(smooth, HISTORY, HISTORY);
  const out = applyBlend([5200, 5300], { '0.9': 5600 }, b, latest);
  expect(out.values[0]).toBeCloseTo(0.5 * 5200 + 0.5 * latest, 9);
  expect(out.values[1]).toBeCloseTo(0.5 * 5300 + 0.5 * latest, 9);
  // The quantile of the horizon maximum moves as the maximum did.
  expect(out.maxQuantiles['0.9']).toBeCloseTo(5600 + (out.values[1]! - 5300), 9);
});
