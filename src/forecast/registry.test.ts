import { DEFAULT_FORECASTER, FORECASTER_NAMES, createForecaster } from './registry.js';

describe('forecaster registry', () => {
  it('constructs every named forecaster, each forecasting a tiny history', async () => {
    for (const name of FORECASTER_NAMES) {
      const f = createForecaster(name);
      expect(f.name).toBe(name);
      const r = await f.forecast({ history: { start: 0, requests: [3, null, 5] }, horizon: 4 });
      expect(r.model).toBe(name);
      expect(r.values).toHaveLength(4);
      r.values.forEach((v) => expect(v).toBeGreaterThanOrEqual(0));
    }
  });

  it('defaults to holt-winters, one of the names', () => {
    expect(DEFAULT_FORECASTER).toBe('holt-winters');
    expect(FORECASTER_NAMES).toContain(DEFAULT_FORECASTER);
  });

  it('rejects an unknown name, listing the known ones', () => {
    expect(() => createForecaster('prophet')).toThrow(
      'unknown forecaster "prophet"; known forecasters: persistence, mean10, mean30, seasonal-day, holt-winters',
    );
  });
});
