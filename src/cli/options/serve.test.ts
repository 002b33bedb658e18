import { parseOptions, UsageError } from '../../config/options.js';
import { HEAL_RULES } from '../../healer/rules.js';
import { SERVE_OPTIONS } from './serve.js';

// Issue 19, defect 2: the share of the newest revision's pods that must crash-loop for a rollback
// (the rule itself: healer/rules.test.ts).
test('--heal-crash-loop-share / AMADEUS_HEAL_CRASH_LOOP_SHARE: the healer\'s default, any share in (0, 1]', () => {
  expect(parseOptions(SERVE_OPTIONS, [], {}).healCrashLoopShare).toBe(HEAL_RULES.crashLoopShare);
  expect(parseOptions(SERVE_OPTIONS, ['--heal-crash-loop-share', '0.75'], {}).healCrashLoopShare).toBe(0.75);
  expect(parseOptions(SERVE_OPTIONS, [], { AMADEUS_HEAL_CRASH_LOOP_SHARE: '1' }).healCrashLoopShare).toBe(1);
  for (const bad of ['0', '1.5', 'half']) expect(() => parseOptions(SERVE_OPTIONS, ['--heal-crash-loop-share', bad], {})).toThrow(UsageError);
});
