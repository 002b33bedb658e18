import { PLANNER_DEFAULTS } from '../plan/defaults.js';
import { createMetadataParser } from '../scaler/metadata.js';
import { metadataLines, tunedMetadata } from './tuned-metadata.js';

// A run's settings as simulate records them (SimulationResult['amadeus']).
const run = { forecaster: 'auto', horizonMinutes: 10, historyMinutes: 60, quantile: 'none', headroom: PLANNER_DEFAULTS.headroom, noiseMargin: PLANNER_DEFAULTS.noiseMargin, surgeNoiseMargin: PLANNER_DEFAULTS.surgeNoiseMargin, signals: 'onset,surge,recurring,ramp', fineTune: true, tuned: true };

test('settings at the metadata defaults give no key (quantile none, signals in any order); what is not metadata is left out', () => {
  expect(tunedMetadata(run)).toEqual({});
  expect(metadataLines({})).toEqual(['  (none: every key at its default)']);
});

test('every key that differs is named, surgeNoiseMargin too, and parses back to the run\'s planner', () => {
  const tuned = { ...run, horizonMinutes: 3, quantile: '0.9', headroom: 0.15, noiseMargin: 0.25, surgeNoiseMargin: 0.25, signals: 'ramp,surge' };
  const metadata = tunedMetadata(tuned);
  expect(metadata).toEqual({ horizonMinutes: '3', quantile: '0.9', headroom: '0.15', noiseMargin: '0.25', surgeNoiseMargin: '0.25', signals: 'ramp,surge' });
  const config = createMetadataParser()({ targetValue: '5', ...metadata });
  expect([config.horizonMinutes, config.quantile, config.headroom, config.noiseMargin, config.surgeNoiseMargin, config.signals]).toEqual([3, '0.9', 0.15, 0.25, 0.25, ['ramp', 'surge']]);
  expect(metadataLines(metadata)).toContain('  surgeNoiseMargin: "0.25"');
});
