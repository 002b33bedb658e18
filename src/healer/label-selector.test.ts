import { labelKeyProblem, labelValueProblem, LabelSelectorError, parseLabelSelector } from './label-selector.js';

test.each([
  ['app=web', [{ key: 'app', operator: '=', values: ['web'] }]],
  ['app==web', [{ key: 'app', operator: '=', values: ['web'] }]],
  ['app!=web', [{ key: 'app', operator: '!=', values: ['web'] }]],
  ['app in (web, api)', [{ key: 'app', operator: 'in', values: ['web', 'api'] }]],
  ['tier notin (cache)', [{ key: 'tier', operator: 'notin', values: ['cache'] }]],
  ['app', [{ key: 'app', operator: 'exists', values: [] }]],
  ['!canary', [{ key: 'canary', operator: '!exists', values: [] }]],
  [' app = web , env ', [{ key: 'app', operator: '=', values: ['web'] }, { key: 'env', operator: 'exists', values: [] }]],
  ['app.kubernetes.io/name=amadeus,!example.com/skip,team in (a),x!=y', [
    { key: 'app.kubernetes.io/name', operator: '=', values: ['amadeus'] },
    { key: 'example.com/skip', operator: '!exists', values: [] },
    { key: 'team', operator: 'in', values: ['a'] },
    { key: 'x', operator: '!=', values: ['y'] },
  ]],
  // As the API server reads them: an empty value, empty members of a set, and in / notin as values.
  ['A_b-c.9=V_1.x', [{ key: 'A_b-c.9', operator: '=', values: ['V_1.x'] }]],
  ['a=', [{ key: 'a', operator: '=', values: [''] }]],
  ['a in ()', [{ key: 'a', operator: 'in', values: [''] }]],
  ['a in (,b)', [{ key: 'a', operator: 'in', values: ['', 'b'] }]],
  ['a=in,b notin (notin)', [{ key: 'a', operator: '=', values: ['in'] }, { key: 'b', operator: 'notin', values: ['notin'] }]],
])('parses %j', (selector, want) => {
  expect(parseLabelSelector(selector)).toEqual(want);
});

test.each([
  ['app in ((', 'expected "," or ")" in a set of values, found "(" at character 9'],
  ['app in (a', 'expected "," or ")" in a set of values, found the end'],
  ['app in (a b)', 'found "b" at character 11'],
  ['app in a', 'expected "(" after in / notin, found "a" at character 8'],
  ['app,', 'expected a label key, found the end'],
  [',app', 'expected a label key, found "," at character 1'],
  ['a,,b', 'expected a label key, found "," at character 3'],
  ['=web', 'expected a label key, found "=" at character 1'],
  ['!', 'expected a label key, found the end'],
  ['!app=web', 'expected "," between requirements, found "=" at character 5'],
  ['app web', 'expected =, ==, !=, in or notin after key "app", found "web" at character 5'],
  ['app=web x', 'expected "," between requirements, found "x" at character 9'],
  ['a = = b', 'expected "," between requirements, found "=" at character 5'],
  ['replicas>1', 'operator ">" at character 9 is not one for labels'],
  ['in=x', 'expected a label key, found "in" at character 1'],
  ['app=-web', 'value "-web" must be at most 63 letters'],
  [`app=${'v'.repeat(64)}`, 'value "vvvv'],
  [`${'k'.repeat(64)}=v`, 'its name must be 1-63 letters'],
  ['Example.com/a=b', 'its prefix must be a lower-case DNS subdomain'],
  ['a/b/c=d', 'its name must be'],
  ['/a=b', 'its prefix must be'],
  ['a/=b', 'its name must be'],
  ['', 'expected a label key, found the end'],
])('refuses %j', (selector, message) => {
  expect(() => parseLabelSelector(selector)).toThrow(LabelSelectorError);
  expect(() => parseLabelSelector(selector)).toThrow(message);
});

test('key and value rules at their bounds', () => {
  expect(labelKeyProblem(`${'a'.repeat(63)}`)).toBeNull();
  expect(labelKeyProblem(`${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}/name`)).toBeNull(); // a 253-character prefix
  expect(labelKeyProblem(`${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(62)}/name`)).toMatch(/prefix/);
  expect(labelValueProblem('v'.repeat(63))).toBeNull();
  expect(labelValueProblem('')).toBeNull();
  expect(labelValueProblem('a b')).toMatch(/value/);
});
