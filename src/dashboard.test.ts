/**
 * The Grafana dashboard is JSON nobody compiles: these checks stand in for "it imports and every
 * panel queries the right data source". Its PromQL is executed against a real Prometheus elsewhere
 * (through dashboardQueries).
 */
import { readFileSync } from 'node:fs';
import { dashboardQueries } from './telemetry/dashboard-queries.js';

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query?: string;
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { uid?: string };
}
interface Dashboard {
  __inputs?: { name: string; type: string; pluginId: string }[];
  __requires?: { type: string; id: string }[];
  schemaVersion?: number;
  uid?: string;
  title?: string;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: { name?: string; expr?: string; datasource?: { uid?: string } }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../keda/grafana/amadeus-dashboard.json', import.meta.url), 'utf8')) as Dashboard;
const DS = { type: 'prometheus', uid: '${datasource}' };

test('importable: schema version, the Prometheus input and what it requires', () => {
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  expect(dashboard.uid).toBeTruthy();
  expect(dashboard.__inputs).toContainEqual(expect.objectContaining({ type: 'datasource', pluginId: 'prometheus' }));
  const required = new Set((dashboard.__requires ?? []).map((r) => `${r.type}:${r.id}`));
  expect(required).toContain('grafana:grafana');
  expect(required).toContain('datasource:prometheus');
  for (const p of dashboard.panels) expect(required).toContain(`panel:${p.type}`);
});

test('variables: datasource, then namespace and scaledobject (multi-select) from amadeus_planned_value', () => {
  const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  expect(byName.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
  expect(byName.get('namespace')).toMatchObject({
    type: 'query',
    query: 'label_values(amadeus_planned_value, namespace)',
    multi: true,
    includeAll: true,
    datasource: { uid: '${datasource}' },
  });
  expect(byName.get('scaledobject')).toMatchObject({
    type: 'query',
    query: 'label_values(amadeus_planned_value{namespace=~"$namespace"}, scaledobject)',
    multi: true,
    includeAll: true,
  });
});

test('every panel: unique id, a grid position, the templated datasource, and a PromQL target', () => {
  const ids = dashboard.panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const p of dashboard.panels) {
    expect(typeof p.id).toBe('number');
    expect(p.gridPos).toEqual({ x: expect.any(Number), y: expect.any(Number), w: expect.any(Number), h: expect.any(Number) });
    expect(p.datasource).toEqual(DS);
    expect(p.targets?.length).toBeGreaterThan(0);
    for (const t of p.targets ?? []) {
      expect(t.expr?.trim()).toBeTruthy();
      expect(t.datasource).toEqual(DS);
    }
  }
});

test('panels fit the 24-column grid without overlapping', () => {
  const cells = new Set<string>();
  for (const p of dashboard.panels) {
    const g = p.gridPos!;
    expect(g.x + g.w).toBeLessThanOrEqual(24);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        expect(cells.has(`${x},${y}`)).toBe(false);
        cells.add(`${x},${y}`);
      }
    }
  }
});

test('the panels the design asks for query the metrics they are about', () => {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const has = (fragment: string) => expect(exprs.some((e) => e.includes(fragment))).toBe(true);
  has('amadeus_observed_load{namespace=~"$namespace", scaledobject=~"$scaledobject"}');
  has('amadeus_forecast_load_due{');
  has('amadeus_forecast_load{');
  has('amadeus_planned_value{');
  has('kube_deployment_status_replicas{namespace=~"$namespace", deployment=~"$scaledobject"}');
  has('stat="mae"');
  has('stat="mape"');
  has('amadeus_plan_reason{');
  has('amadeus_model_in_use{');
  has('rate(amadeus_grpc_requests_total[');
  has('histogram_quantile(0.99, sum by (le, method) (rate(amadeus_grpc_request_duration_seconds_bucket[$__rate_interval])))');
  const heal = dashboard.annotations.list.find((a) => a.expr?.includes('amadeus_heal_actions_total'));
  expect(heal?.datasource).toEqual(DS);
  expect(heal?.expr).toContain('increase(amadeus_heal_actions_total[5m]) > 0');
});

test('dashboardQueries: every panel and annotation query, variables substituted', () => {
  const queries = dashboardQueries(dashboard);
  const targets = dashboard.panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0);
  expect(queries).toHaveLength(targets + 1); // + the healing annotation (the built-in one has no query)
  for (const q of queries) expect(q.expr).not.toMatch(/\$|\[\[/);
  expect(queries).toContainEqual({
    panel: 'Actual vs predicted load [A]',
    expr: 'amadeus_observed_load{namespace=~".*", scaledobject=~".*"}',
  });
  expect(queries).toContainEqual({
    panel: 'gRPC latency p99 [A]',
    expr: 'histogram_quantile(0.99, sum by (le, method) (rate(amadeus_grpc_request_duration_seconds_bucket[5m])))',
  });
  expect(queries.find((q) => q.panel === 'annotation: Healing actions')?.expr).toContain('increase(amadeus_heal_actions_total[5m])');

  const one = dashboardQueries(dashboard, { namespace: 'shop', scaledobject: 'frontend' });
  expect(one.find((q) => q.panel === 'Planned value vs replicas [B]')?.expr).toBe(
    'kube_deployment_status_replicas{namespace=~"shop", deployment=~"frontend"}',
  );
});

test('dashboardQueries: the other spellings of variables, and unknown ones left alone', () => {
  const queries = dashboardQueries(
    {
      panels: [{ title: 'p', targets: [{ refId: 'A', expr: 'x{a=~"${namespace}", b=~"[[scaledobject]]", c=~"${namespace:regex}"}[$__interval] $other' }] }],
      annotations: { list: [{ name: 'n', target: { expr: 'y[$__rate_interval]' } }] },
    },
    { namespace: 'ns' },
  );
  expect(queries).toEqual([
    { panel: 'p [A]', expr: 'x{a=~"ns", b=~".*", c=~"ns"}[1m] $other' },
    { panel: 'annotation: n', expr: 'y[5m]' },
  ]);
});
