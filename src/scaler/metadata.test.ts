import { createMetadataParser, DEFAULT_METRIC_NAME, InvalidRequestError, metadataSchema } from './metadata.js';

const parse = createMetadataParser();
const base = { targetValue: '100' };

describe('ScaledObject metadata', () => {
  test('signals: a subset of ramp, recurring, surge, onset, level, or none; anything else names the key', () => {
    expect(parse({ ...base, signals: 'ramp' }).signals).toEqual(['ramp']);
    // level is opt-in: accepted by name, not among the defaults (line 34 below).
    expect(parse({ ...base, signals: 'ramp,recurring,surge,onset,level' }).signals).toEqual(['ramp', 'recurring', 'surge', 'onset', 'level']);
    expect(parse({ ...base, signals: 'surge, ramp' }).signals).toEqual(['surge', 'ramp']);
    expect(parse({ ...base, signals: 'none' }).signals).toEqual([]);
    expect(() => parse({ ...base, signals: 'ramp,psychic' })).toThrow(/metadata "signals" must be "none" or signal names separated by commas, from ramp, recurring, surge, onset, level/);
    expect(() => parse({ ...base, signals: 'ramp,ramp' })).toThrow(/metadata "signals"/);
  });

  test('minimal metadata gets every documented default', () => {
    const { serverAddress, query, cpuQuery, memoryQuery, authModes, usernameFile, passwordFile, bearerTokenFile, caFile, certFile, keyFile, prometheusUnsafeSsl, timeoutSeconds, partialResponse, ...scaler } = parse(base);
    // The Prometheus source's keys: all unset but the three with defaults.
    expect([serverAddress, query, cpuQuery, memoryQuery, authModes, usernameFile, passwordFile, bearerTokenFile, caFile, certFile, keyFile]).toEqual(Array(11).fill(undefined));
    expect({ prometheusUnsafeSsl, timeoutSeconds, partialResponse }).toEqual({ prometheusUnsafeSsl: false, timeoutSeconds: 10, partialResponse: 'hold' });
    expect(scaler).toEqual({
      targetValue: 100,
      activationValue: 0,
      // The ceiling of every answer; the outage limit is the scaler's default when unset.
      maxValue: 1e12,
      maxOutageSeconds: undefined,
      metricName: DEFAULT_METRIC_NAME,
      horizonMinutes: 10,
      podStartupSeconds: undefined,
      historyMinutes: 60,
      // The planner's defaults, shared with `amadeus simulate` (plan/defaults.ts).
      headroom: 0.08,
      noiseMargin: 0.52,
      surgeNoiseMargin: 0.52,
      signals: ['ramp', 'recurring', 'surge', 'onset'],
      mode: 'predictive',
      forecaster: 'auto',
      quantile: undefined,
      replayScale: 1,
    });
  });

  test('KEDA connection keys pass through', () => {
    expect(() =>
      parse({ ...base, scalerAddress: 'amadeus.keda:6000', caCert: 'x', tlsClientCert: 'y', tlsClientKey: 'z', unsafeSsl: 'false', tlsCertFile: 'w' }),
    ).not.toThrow();
  });

  test('podStartupSeconds sets the horizon to when pods ordered now are ready; horizonMinutes wins', () => {
    expect(parse({ ...base, podStartupSeconds: '90' }).horizonMinutes).toBe(3); // ⌈(90 + 15 + 30) / 60⌉
    expect(parse({ ...base, podStartupSeconds: '300' }).horizonMinutes).toBe(6);
    expect(parse({ ...base, podStartupSeconds: '0' }).horizonMinutes).toBe(1);
    expect(parse({ ...base, podStartupSeconds: '3600' }).horizonMinutes).toBe(61);
    expect(parse({ ...base, podStartupSeconds: '90', horizonMinutes: '10' }).horizonMinutes).toBe(10);
  });

  test('the server default forecaster applies when metadata names none', () => {
    expect(createMetadataParser('mean30')(base).forecaster).toBe('mean30');
  });

  // Each key, one valid value and its parsed form.
  test.each([
    ['targetValue', '0.5', 0.5],
    ['activationValue', '3', 3],
    ['metricName', 'frontend_rps-predicted.v1', 'frontend_rps-predicted.v1'],
    ['horizonMinutes', '15', 15],
    ['podStartupSeconds', '120', 120],
    ['historyMinutes', '120', 120],
    ['headroom', '0.2', 0.2],
    ['noiseMargin', '0.5', 0.5],
    ['mode', 'shadow', 'shadow'],
    ['mode', 'reactive', 'reactive'],
    ['forecaster', 'mean10', 'mean10'],
    ['forecaster', 'persistence', 'persistence'],
    ['forecaster', 'lstm', 'lstm'],
    ['forecaster', 'auto', 'auto'],
    ['quantile', '0.9', '0.9'],
    ['replayScale', '2.5', 2.5],
  ])('%s=%j parses', (key, raw, want) => {
    expect(parse({ ...base, [key]: raw })[key as keyof ReturnType<typeof parse>]).toEqual(want);
  });

  // Each key, invalid values: the error names the key and the expected form.
  test.each([
    ['targetValue', '0', 'metadata "targetValue" must be a number >= 0.001 and <= 1e12, got "0"'],
    ['targetValue', '-5', 'metadata "targetValue" must be a number >= 0.001 and <= 1e12, got "-5"'],
    ['targetValue', 'ten', 'metadata "targetValue" must be a number >= 0.001 and <= 1e12, got "ten"'],
    ['activationValue', '-1', 'metadata "activationValue" must be a number >= 0 and <= 1e12, got "-1"'],
    ['metricName', 'has space', 'metadata "metricName" must be a metric name of letters, digits, "-", "_" or "." (at most 200), got "has space"'],
    ['metricName', '-leading', 'metadata "metricName" must be a metric name'],
    ['horizonMinutes', '0', 'metadata "horizonMinutes" must be an integer >= 1 and <= 120, got "0"'],
    ['horizonMinutes', '2.5', 'metadata "horizonMinutes" must be an integer >= 1 and <= 120, got "2.5"'],
    ['horizonMinutes', '121', 'metadata "horizonMinutes" must be an integer >= 1 and <= 120'],
    ['podStartupSeconds', '-1', 'metadata "podStartupSeconds" must be an integer >= 0 and <= 3600, got "-1"'],
    ['podStartupSeconds', '90s', 'metadata "podStartupSeconds" must be an integer >= 0 and <= 3600, got "90s"'],
    ['historyMinutes', '5', 'metadata "historyMinutes" must be an integer >= 10 and <= 10080, got "5"'],
    ['headroom', '-0.1', 'metadata "headroom" must be a number >= 0 and <= 10, got "-0.1"'],
    ['headroom', '20%', 'metadata "headroom" must be a number >= 0 and <= 10, got "20%"'],
    ['noiseMargin', '-1', 'metadata "noiseMargin" must be a number >= 0 and <= 10, got "-1"'],
    ['mode', 'aggressive', 'metadata "mode" must be one of "predictive", "shadow", "reactive", got "aggressive"'],
    ['forecaster', 'prophet', 'metadata "forecaster" must be one of "auto", "lstm", "persistence", "mean10", "mean30", "seasonal-day", "holt-winters", got "prophet"'],
    ['quantile', '0.99', 'metadata "quantile" must be one of "0.5", "0.8", "0.9", "0.95", got "0.99"'],
    ['replayScale', '0', 'metadata "replayScale" must be a number >= 0.001 and <= 1e9, got "0"'],
  ])('%s=%j is rejected', (key, raw, message) => {
    expect(() => parse({ ...base, [key]: raw })).toThrow(InvalidRequestError);
    expect(() => parse({ ...base, [key]: raw })).toThrow(message);
  });

  test('an activationValue at or above maxValue (load there is a source error, so it could never activate) names the key', () => {
    expect(() => parse({ ...base, maxValue: '50', activationValue: '50' })).toThrow(InvalidRequestError);
    expect(() => parse({ ...base, maxValue: '50', activationValue: '80' })).toThrow('metadata "activationValue" must be below "maxValue" (50), got 80: the workload could never activate');
    expect(parse({ ...base, maxValue: '50', activationValue: '49' }).activationValue).toBe(49);
  });

  test('missing targetValue is rejected with its expected form', () => {
    expect(() => parse({})).toThrow('metadata "targetValue" is required: a number >= 0.001 and <= 1e12');
  });

  test('an unknown key (a typo) is rejected, listing the known keys', () => {
    expect(() => parse({ ...base, headRoom: '0.2' })).toThrow(/metadata "headRoom" is not a known key \(known: targetValue, activationValue/);
  });

  test('several problems are reported together', () => {
    expect(() => parse({ targetValue: 'x', mode: 'y' })).toThrow(/"targetValue".*; .*"mode"/);
  });

  test('every key has an expected form for the docs', () => {
    for (const [key, field] of Object.entries(metadataSchema())) expect(`${key}: ${field.expected}`).toMatch(/: \S/);
  });
});
