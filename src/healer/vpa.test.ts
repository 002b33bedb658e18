import { vpaMemoryControl, vpaMemoryTarget, vpaSettingMemoryLimit, type Vpa } from './vpa.js';

const vpa = (spec: Vpa['spec'], name = 'web'): Vpa => ({ metadata: { name }, spec: { targetRef: { kind: 'Deployment', name: 'web' }, ...spec } });
const sets = (vpas: Vpa[], container = 'app') => vpaSettingMemoryLimit(vpas, 'Deployment', 'web', container)?.metadata?.name ?? null;

test('a VPA that writes pods sets every container\'s memory limit unless its policy says otherwise', () => {
  expect(sets([vpa({ updatePolicy: { updateMode: 'Auto' } })])).toBe('web');
  expect(sets([vpa({})])).toBe('web'); // updateMode unset: Auto
  expect(sets([vpa({ updatePolicy: { updateMode: 'Initial' } })])).toBe('web'); // new pods get its values
  expect(sets([vpa({ updatePolicy: { updateMode: 'Off' } })])).toBeNull(); // recommends only
});

test('another workload\'s VPA, or one of another kind of the same name, sets nothing here', () => {
  expect(sets([{ spec: { targetRef: { kind: 'Deployment', name: 'api' } } }])).toBeNull();
  expect(sets([{ spec: { targetRef: { kind: 'StatefulSet', name: 'web' } } }])).toBeNull();
});

test('container policies: the container\'s own entry before `*`; mode Off, no memory among the controlled resources, or requests only leave the limit to the healer', () => {
  const policies = (...containerPolicies: object[]) => [vpa({ resourcePolicy: { containerPolicies } })];
  expect(sets(policies({ containerName: 'istio-proxy', mode: 'Off' }), 'istio-proxy')).toBeNull();
  expect(sets(policies({ containerName: 'istio-proxy', mode: 'Off' }), 'app')).toBe('web');
  expect(sets(policies({ containerName: '*', mode: 'Off' }, { containerName: 'app', mode: 'Auto' }), 'app')).toBe('web');
  expect(sets(policies({ containerName: '*', mode: 'Off' }, { containerName: 'app', mode: 'Auto' }), 'sidecar')).toBeNull();
  expect(sets(policies({ containerName: '*', controlledResources: ['cpu'] }))).toBeNull();
  expect(sets(policies({ containerName: '*', controlledResources: ['cpu', 'memory'] }))).toBe('web');
  expect(sets(policies({ containerName: 'app', controlledValues: 'RequestsOnly' }))).toBeNull();
  expect(sets(policies({ containerName: 'app', controlledValues: 'RequestsAndLimits' }))).toBe('web');
  expect(sets(policies({ mode: 'Off' }))).toBe('web'); // a policy naming no container applies to none: the defaults hold
});

test('of two VPAs on one workload (a misconfiguration VPA itself warns about), the oldest not Off decides, as VPA\'s admission picks it', () => {
  const at = (name: string, t: string, spec: Vpa['spec']) => ({ ...vpa(spec, name), metadata: { name, creationTimestamp: t } });
  expect(sets([vpa({ updatePolicy: { updateMode: 'Off' } }, 'a'), vpa({}, 'b')])).toBe('b');
  const requestsOnly = { resourcePolicy: { containerPolicies: [{ containerName: '*', controlledValues: 'RequestsOnly' }] } };
  expect(sets([at('new', '2026-02-01T00:00:00Z', {}), at('old', '2026-01-01T00:00:00Z', requestsOnly)])).toBeNull();
  expect(vpaMemoryControl([at('new', '2026-02-01T00:00:00Z', {}), at('old', '2026-01-01T00:00:00Z', requestsOnly)], 'Deployment', 'web', 'app')?.vpa.metadata?.name).toBe('old');
});

test('of two `*` policies, the last one counts (VPA\'s lookup)', () => {
  expect(sets([vpa({ resourcePolicy: { containerPolicies: [{ containerName: '*', mode: 'Off' }, { containerName: '*', mode: 'Auto' }] } })])).toBe('web');
});

test('the target a VPA recommends for a container, when it has one', () => {
  const v: Vpa = { ...vpa({}), status: { recommendation: { containerRecommendations: [{ containerName: 'app', target: { memory: '300Mi' } }] } } };
  expect(vpaMemoryTarget(v, 'app', (q) => parseInt(q, 10) * 2 ** 20)).toBe(300 * 2 ** 20);
  expect(vpaMemoryTarget(v, 'proxy', () => 0)).toBeNull();
  expect(vpaMemoryTarget(vpa({}), 'app', () => 0)).toBeNull();
});

test('a RequestsOnly VPA sets the request, not the limit', () => {
  const only = vpa({ resourcePolicy: { containerPolicies: [{ containerName: '*', controlledValues: 'RequestsOnly' }] } }, 'only');
  expect(vpaMemoryControl([only], 'Deployment', 'web', 'app')).toEqual({ vpa: only, limit: false });
  expect(vpaMemoryControl([], 'Deployment', 'web', 'app')).toBeNull();
});
