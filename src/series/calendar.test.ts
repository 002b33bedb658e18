import { DAY_MINUTES, isWeekend, localDay } from './calendar.js';

test('local days: the epoch was a Thursday; weekends are Saturday and Sunday; minutes before the epoch count back', () => {
  const minuteOf = (iso: string) => Date.parse(iso) / 60_000;
  expect(localDay(0)).toEqual({ minuteOfDay: 0, weekday: 4 });
  expect(localDay(minuteOf('2025-01-06T12:30:00Z'))).toEqual({ minuteOfDay: 750, weekday: 1 }); // a Monday
  expect(localDay(minuteOf('2025-01-11T00:00:00Z')).weekday).toBe(6);
  expect(localDay(-1)).toEqual({ minuteOfDay: DAY_MINUTES - 1, weekday: 3 });
  expect([0, 1, 2, 3, 4, 5, 6].map(isWeekend)).toEqual([true, false, false, false, false, false, true]);
});
