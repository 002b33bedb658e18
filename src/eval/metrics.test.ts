import { horizonStats, ScoreAccumulator } from './metrics.js';

describe('horizonStats', () => {
  test('the value at +H, the mean of the 5 minutes ending there, and the maximum', () => {
    expect(horizonStats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10)).toEqual({ atH: 10, meanEnd: 8, max: 10 });
    expect(horizonStats([9, 0, 0, 0, 0, 0, 0, 0, 0, 5], 10)).toEqual({ atH: 5, meanEnd: 1, max: 9 });
  });

  test('with a horizon under 5 minutes the mean covers the whole horizon', () => {
    expect(horizonStats([3, 6, 9], 3)).toEqual({ atH: 9, meanEnd: 6, max: 9 });
  });

  test('reads only the first `horizon` values', () => {
    expect(horizonStats([1, 2, 100], 2)).toEqual({ atH: 2, meanEnd: 1.5, max: 2 });
  });
});

describe('ScoreAccumulator', () => {
  test('scores by hand', () => {
    const acc = new ScoreAccumulator(2);
    acc.add({ model: 'm', values: [10, 10] }, horizonStats([10, 14], 2)); // error -4, mean error -2, max 10 < 12.6: under
    acc.add({ model: 'm', values: [10, 13] }, horizonStats([10, 10], 2)); // error +3, mean error +1.5
    expect(acc.score('m', 7)).toEqual({
      name: 'm',
      mae: 3.5,
      rmse: Math.sqrt((16 + 9) / 2),
      mae5: 1.75,
      relMae: 0.5,
      underRate: 0.5,
    });
    expect(acc.score('m', 0).relMae).toBeNull();
  });

  test('quantiles are scored over the origins whose forecast carries them, levels in numeric order', () => {
    const acc = new ScoreAccumulator(1);
    acc.add({ model: 'q', values: [10], maxQuantiles: { '0.9': 12, '0.5': 10 } }, horizonStats([12], 1));
    acc.add({ model: 'q', values: [10], maxQuantiles: { '0.9': 11 } }, horizonStats([12], 1));
    acc.add({ model: 'q', values: [10] }, horizonStats([12], 1));
    const { quantiles } = acc.score('q', 1);
    expect(Object.keys(quantiles!)).toEqual(['0.5', '0.9']);
    expect(quantiles).toEqual({
      '0.5': { coverage: 0, meanWidth: 0, origins: 1 },
      '0.9': { coverage: 0.5, meanWidth: 1.5, origins: 2 }, // 12 <= 12 covers; 11 does not
    });
  });
});
