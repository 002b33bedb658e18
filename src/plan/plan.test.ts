import type { Forecast } from '../series/forecast.js';
import { forecastMax, makePlan, MAX_PLAN_VALUE } from './plan.js';

const forecast = (values: number[]): Forecast => ({ model: 'test', values });
const base = { headroom: 0, activationValue: 0 };

describe('makePlan', () => {
  test('predictive: the forecast maximum wins when above observed, with headroom', () => {
    const p = makePlan({ ...base, headroom: 0.25, mode: 'predictive', observed: 100, forecast: forecast([110, 160, 120]) });
    expect(p).toEqual({ value: 200, active: true, observed: 100, forecastMax: 160, quantile: null, reason: 'forecast', model: 'test', noiseMargin: 0, surging: false, capped: false });
  });

  test('predictive: a forecast may only add capacity, never remove it', () => {
    const p = makePlan({ ...base, mode: 'predictive', observed: 100, forecast: forecast([50, 60]) });
    expect(p.value).toBe(100);
    expect(p.reason).toBe('observed');
  });

  test('predictive without a forecast falls back to observed and says so', () => {
    const p = makePlan({ ...base, mode: 'predictive', observed: 42, forecast: null });
    expect(p).toMatchObject({ value: 42, reason: 'forecast-unavailable', forecastMax: null });
  });

  test('shadow computes the forecast but answers the reactive value', () => {
    const p = makePlan({ ...base, headroom: 0.1, mode: 'shadow', observed: 100, forecast: forecast([300]) });
    expect(p.value).toBeCloseTo(110);
    expect(p).toMatchObject({ forecastMax: 300, reason: 'shadow', model: 'test' });
  });

  test('a noise margin k·α·√base is added to the base before the headroom', () => {
    // base 160 (the forecast), α 0.5, k 2: margin 2 × 0.5 × √160; then × 1.25.
    const p = makePlan({ ...base, headroom: 0.25, mode: 'predictive', observed: 100, forecast: forecast([160]), noiseMargin: 2, noise: 0.5 });
    expect(p.noiseMargin).toBeCloseTo(Math.sqrt(160), 12);
    expect(p.value).toBeCloseTo((160 + Math.sqrt(160)) * 1.25, 12);
    // Over the observed load too, when it is the base: the margin covers the noise around now.
    const q = makePlan({ ...base, mode: 'predictive', observed: 400, forecast: forecast([100]), noiseMargin: 1, noise: 1 });
    expect(q).toMatchObject({ value: 420, reason: 'observed', noiseMargin: 20 });
  });

  test('no noise margin without k or without a noise scale', () => {
    for (const extra of [{ noiseMargin: 0, noise: 2 }, { noiseMargin: 1, noise: null }, { noiseMargin: 1 }]) {
      const p = makePlan({ ...base, mode: 'predictive', observed: 100, forecast: forecast([100]), ...extra });
      expect(p).toMatchObject({ value: 100, noiseMargin: 0 });
    }
  });

  test('reactive answers observed × (1 + headroom)', () => {
    expect(makePlan({ ...base, headroom: 0.5, mode: 'reactive', observed: 10, forecast: null })).toMatchObject({ value: 15, reason: 'reactive' });
  });

  test('activation looks ahead only in predictive mode', () => {
    const input = { headroom: 0, activationValue: 5, observed: 0, forecast: forecast([0, 8]) };
    expect(makePlan({ ...input, mode: 'predictive' }).active).toBe(true);
    expect(makePlan({ ...input, mode: 'shadow' }).active).toBe(false);
    expect(makePlan({ ...input, mode: 'predictive', forecast: forecast([1, 2]) }).active).toBe(false);
    expect(makePlan({ ...input, mode: 'predictive', observed: 6, forecast: null }).active).toBe(true);
  });

  test('a requested quantile of the horizon maximum is provisioned when the forecast has it', () => {
    const f: Forecast = { model: 'lstm', values: [100, 110], maxQuantiles: { '0.5': 112, '0.9': 150 } };
    expect(makePlan({ ...base, mode: 'predictive', observed: 90, forecast: f, quantile: '0.9' })).toMatchObject({ value: 150, forecastMax: 150, quantile: '0.9', reason: 'forecast' });
    // Without the quantile (a baseline was chosen), the point forecast's maximum is used.
    expect(makePlan({ ...base, mode: 'predictive', observed: 90, forecast: forecast([100, 110]), quantile: '0.9' })).toMatchObject({ value: 110, quantile: null });
    expect(makePlan({ ...base, mode: 'predictive', observed: 90, forecast: f })).toMatchObject({ value: 110, quantile: null });
  });

  test('zero load plans zero and is inactive', () => {
    expect(makePlan({ ...base, mode: 'predictive', observed: 0, forecast: forecast([0, 0]) })).toMatchObject({ value: 0, active: false, reason: 'observed' });
  });

  test('the value never passes the ceiling, however large the forecast or its product with headroom', () => {
    // 1e308 × (1 + 1) overflows to Infinity: the ceiling catches the product too.
    expect(makePlan({ ...base, headroom: 1, mode: 'predictive', observed: 10, forecast: forecast([1e308]), maxValue: 1e6 })).toMatchObject({ value: 1e6, capped: true, reason: 'forecast' });
    expect(makePlan({ ...base, headroom: 1, mode: 'predictive', observed: 10, forecast: forecast([1e308]) })).toMatchObject({ value: MAX_PLAN_VALUE, capped: true });
    expect(makePlan({ ...base, mode: 'reactive', observed: 5, forecast: null, maxValue: 1e6 })).toMatchObject({ value: 5, capped: false });
  });

  test('non-finite inputs never leak into the plan', () => {
    expect(forecastMax(forecast([NaN, Infinity]))).toBeNull();
    expect(makePlan({ ...base, mode: 'predictive', observed: NaN, forecast: forecast([-3]) })).toMatchObject({ value: 0, forecastMax: 0 });
  });
});
