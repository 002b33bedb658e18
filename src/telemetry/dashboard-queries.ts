/**
 * Every PromQL query of the Grafana dashboard (`keda/grafana/amadeus-dashboard.json`), with
 * Grafana's variables replaced, so a test can run each one against a real Prometheus: Grafana
 * itself is not installable here, and a query that only fails in Grafana fails silently (an empty
 * panel), so executing them is the check that matters.
 */

/** The parts of a Grafana dashboard JSON this reads; everything else is ignored. */
export interface GrafanaDashboard {
  panels?: { title?: string; targets?: { refId?: string; expr?: string }[] }[];
  annotations?: { list?: { name?: string; expr?: string; target?: { expr?: string } }[] };
}

export interface DashboardQuery {
  /** Where it comes from: "<panel title> [<refId>]" or "annotation: <name>". */
  panel: string;
  expr: string;
}

export interface DashboardVariables {
  /** Substituted verbatim into `=~"…"` matchers, so a regex (default `.*`, Grafana's "All"). */
  namespace?: string;
  scaledobject?: string;
}

/** Values for Grafana's built-in interval variables (what Grafana picks for a few-hour range). */
const BUILTINS: Record<string, string> = { __rate_interval: '5m', __interval: '1m', __range: '1h' };

export function dashboardQueries(dashboard: GrafanaDashboard, vars: DashboardVariables = {}): DashboardQuery[] {
  const values: Record<string, string> = {
    ...BUILTINS,
    namespace: vars.namespace ?? '.*',
    scaledobject: vars.scaledobject ?? '.*',
  };
  // Grafana's three spellings: $name, ${name} (optionally ${name:format}) and the legacy [[name]].
  const substitute = (expr: string) =>
    expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole: string, a?: string, b?: string, c?: string) => {
      const name = a ?? b ?? c ?? '';
      return Object.hasOwn(values, name) ? values[name] : whole;
    });

  const out: DashboardQuery[] = [];
  for (const panel of dashboard.panels ?? []) {
    for (const t of panel.targets ?? []) {
      if (t.expr) out.push({ panel: `${panel.title ?? 'untitled'} [${t.refId ?? '?'}]`, expr: substitute(t.expr) });
    }
  }
  for (const a of dashboard.annotations?.list ?? []) {
    // Prometheus annotations keep the query at the top level (legacy) or under `target`.
    const expr = a.target?.expr ?? a.expr;
    if (expr) out.push({ panel: `annotation: ${a.name ?? 'untitled'}`, expr: substitute(expr) });
  }
  return out;
}
