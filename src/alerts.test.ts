/**
 * The alerts of keda/base/prometheusrule.yaml, run by the real `promtool` (`check rules`, then
 * `test rules`) on series shaped as Amadeus exports them through the ServiceMonitor: each alert fires
 * on what it is about, after its `for`, with the labels and rendered annotations an on-call engineer
 * reads — and not on a healthy replica set. The rules are taken from the manifests as
 * `kubectl kustomize keda/base` builds them, so the test is of what is applied.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMTOOL_BIN } from './test-support/prometheus.js';
import { kustomize } from './test-support/kustomize.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}
interface PrometheusRule {
  kind: string;
  metadata: { name: string };
  spec: { groups: { name: string; rules: Rule[] }[] };
}

const rule = kustomize<PrometheusRule>('keda/base').find((o) => o.kind === 'PrometheusRule' && o.metadata.name === 'amadeus')!;
const rules = rule.spec.groups.flatMap((g) => g.rules);
const byName = (name: string): Rule => rules.find((r) => r.alert === name)!;

/** One expected alert: its labels beyond the rule's own, and its summary as rendered (the description is the rule's). */
const fired = (name: string, labels: Record<string, string>, summary: string) => ({
  exp_labels: { ...byName(name).labels, ...labels },
  exp_annotations: { summary, description: byName(name).annotations.description },
});

const pod = (name: string) => ({ job: 'amadeus-metrics', namespace: 'amadeus', pod: name, instance: `${name}:9464` });
const series = (metric: string, labels: Record<string, string>, values: string) =>
  ({ series: `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`, values });

function promtool(args: string[], cwd: string): string {
  try {
    return execFileSync(PROMTOOL_BIN, args, { cwd, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: err });
  }
}

test('the manifests carry one alert of each kind, each with a severity, a summary and a description', () => {
  expect(rules.map((r) => r.alert)).toEqual(['AmadeusDown', 'AmadeusAllDown', 'AmadeusTriggersUnavailable', 'AmadeusTriggersOnLastPlan', 'AmadeusHealerWatchDown', 'AmadeusHealerNotReady', 'AmadeusHealFailed']);
  for (const r of rules) {
    expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
    expect(r.annotations.summary).toBeTruthy();
    expect(r.annotations.description).toBeTruthy();
  }
});

test('promtool: the rules are valid, and each alert fires on what it is about, after its `for`, and not on a healthy replica set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amadeus-alerts-'));
  try {
    writeFileSync(join(dir, 'rules.json'), JSON.stringify({ groups: rule.spec.groups }));
    const tests = {
      rule_files: ['rules.json'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            // amadeus-0 stops being scraped at minute 2; amadeus-1 stays up.
            series('up', pod('amadeus-0'), '1 1 0x20'),
            series('up', pod('amadeus-1'), '1x22'),
            // From minute 2, three triggers past maxOutageSeconds (both replicas say so) and two on
            // their last plan; a healthy cause stays at 0.
            series('amadeus_degraded_triggers', { ...pod('amadeus-0'), stage: 'unavailable', cause: 'deadline' }, '0 0 3x20'),
            series('amadeus_degraded_triggers', { ...pod('amadeus-1'), stage: 'unavailable', cause: 'deadline' }, '0 0 3x20'),
            series('amadeus_degraded_triggers', { ...pod('amadeus-1'), stage: 'last-plan', cause: 'http' }, '0 0 2x20'),
            series('amadeus_degraded_triggers', { ...pod('amadeus-1'), stage: 'unavailable', cause: 'http' }, '0x22'),
            // amadeus-1's watch of shop fails from minute 2; amadeus-0's of all namespaces holds.
            series('amadeus_healer_watch_up', { ...pod('amadeus-1'), scope: 'shop' }, '1 1 0x20'),
            series('amadeus_healer_watch_up', { ...pod('amadeus-0'), scope: '*' }, '1x22'),
            // amadeus-1's healer never starts; amadeus-0's does.
            series('amadeus_healer_ready', pod('amadeus-1'), '0x22'),
            series('amadeus_healer_ready', pod('amadeus-0'), '0 1x21'),
            // Healing: applied actions never alert; a rollback fails at minute 5 (its series appears
            // at 1, as a labelled counter does), and again at minute 50.
            series('amadeus_heal_actions_total', { ...pod('amadeus-0'), action: 'oom-bump', result: 'applied' }, '1 2 3 4x60'),
            series('amadeus_heal_actions_total', { ...pod('amadeus-0'), action: 'rollback', result: 'failed' }, '_x5 1x44 2x10'),
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'AmadeusDown', exp_alerts: [] },
            { eval_time: '8m', alertname: 'AmadeusDown', exp_alerts: [fired('AmadeusDown', pod('amadeus-0'), 'Amadeus replica amadeus-0 is not scraped')] },
            // amadeus-1 is up throughout.
            { eval_time: '8m', alertname: 'AmadeusAllDown', exp_alerts: [] },
            { eval_time: '5m', alertname: 'AmadeusTriggersUnavailable', exp_alerts: [] },
            { eval_time: '8m', alertname: 'AmadeusTriggersUnavailable', exp_alerts: [fired('AmadeusTriggersUnavailable', { cause: 'deadline' }, '3 Amadeus triggers answer UNAVAILABLE (deadline)')] },
            { eval_time: '15m', alertname: 'AmadeusTriggersOnLastPlan', exp_alerts: [] },
            { eval_time: '18m', alertname: 'AmadeusTriggersOnLastPlan', exp_alerts: [fired('AmadeusTriggersOnLastPlan', { cause: 'http' }, '2 Amadeus triggers hold their last good plan (http)')] },
            { eval_time: '10m', alertname: 'AmadeusHealerWatchDown', exp_alerts: [] },
            { eval_time: '13m', alertname: 'AmadeusHealerWatchDown', exp_alerts: [fired('AmadeusHealerWatchDown', { ...pod('amadeus-1'), scope: 'shop' }, 'The healer on amadeus-1 cannot watch pods in shop')] },
            { eval_time: '14m', alertname: 'AmadeusHealerNotReady', exp_alerts: [] },
            { eval_time: '16m', alertname: 'AmadeusHealerNotReady', exp_alerts: [fired('AmadeusHealerNotReady', pod('amadeus-1'), 'The healer on amadeus-1 has not started')] },
            { eval_time: '4m', alertname: 'AmadeusHealFailed', exp_alerts: [] },
            // The first failure, although its series only now appears.
            { eval_time: '6m', alertname: 'AmadeusHealFailed', exp_alerts: [fired('AmadeusHealFailed', { action: 'rollback' }, 'An Amadeus healing action (rollback) failed')] },
            { eval_time: '40m', alertname: 'AmadeusHealFailed', exp_alerts: [] },
            { eval_time: '51m', alertname: 'AmadeusHealFailed', exp_alerts: [fired('AmadeusHealFailed', { action: 'rollback' }, 'An Amadeus healing action (rollback) failed')] },
          ],
        },
        {
          // Every replica gone: first both down, then no target left at all (no `up` series).
          interval: '1m',
          input_series: [series('up', pod('amadeus-0'), '1 1 0 0 0 0 0 0 _x30'), series('up', pod('amadeus-1'), '1 1 0 0 0 0 0 0 _x30')],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'AmadeusAllDown', exp_alerts: [] },
            { eval_time: '8m', alertname: 'AmadeusAllDown', exp_alerts: [fired('AmadeusAllDown', {}, 'No Amadeus replica is up')] },
            { eval_time: '30m', alertname: 'AmadeusAllDown', exp_alerts: [fired('AmadeusAllDown', {}, 'No Amadeus replica is up')] },
          ],
        },
        {
          // A pod watch dropped and listed again by turns (five minutes down, one up): never ten
          // minutes down in a row, but down most of the time.
          interval: '1m',
          input_series: [series('amadeus_healer_watch_up', { ...pod('amadeus-0'), scope: 'batch' }, Array.from({ length: 40 }, (_, i) => (i % 6 === 5 ? 1 : 0)).join(' '))],
          alert_rule_test: [
            { eval_time: '8m', alertname: 'AmadeusHealerWatchDown', exp_alerts: [] },
            { eval_time: '20m', alertname: 'AmadeusHealerWatchDown', exp_alerts: [fired('AmadeusHealerWatchDown', { ...pod('amadeus-0'), scope: 'batch' }, 'The healer on amadeus-0 cannot watch pods in batch')] },
          ],
        },
        {
          // A healthy replica set: two replicas up, no degraded trigger, watches up, healers ready,
          // healing applied. Nothing fires at any time.
          interval: '1m',
          input_series: [
            series('up', pod('amadeus-0'), '1x60'),
            series('up', pod('amadeus-1'), '1x60'),
            series('amadeus_degraded_triggers', { ...pod('amadeus-0'), stage: 'unavailable', cause: 'deadline' }, '0x60'),
            series('amadeus_healer_watch_up', { ...pod('amadeus-0'), scope: '*' }, '1x60'),
            series('amadeus_healer_ready', pod('amadeus-0'), '1x60'),
            series('amadeus_heal_actions_total', { ...pod('amadeus-0'), action: 'rollback', result: 'applied' }, '1 2 3 4x60'),
          ],
          alert_rule_test: ['5m', '30m', '60m'].flatMap((t) => rules.map((r) => ({ eval_time: t, alertname: r.alert, exp_alerts: [] }))),
        },
      ],
    };
    writeFileSync(join(dir, 'tests.json'), JSON.stringify(tests));
    expect(promtool(['check', 'rules', 'rules.json'], dir)).toContain('SUCCESS: 7 rules found');
    expect(promtool(['test', 'rules', 'tests.json'], dir)).toContain('SUCCESS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
