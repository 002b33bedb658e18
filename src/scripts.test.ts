/** What can be checked here of the scripts and files for real clusters, which need Docker to run. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

test('scripts/kind-e2e.sh is valid bash and uses the repository\'s RBAC and image', () => {
  execFileSync('bash', ['-n', new URL('scripts/kind-e2e.sh', root).pathname]);
  const script = read('scripts/kind-e2e.sh');
  expect(script).toContain('kubectl apply -f keda/rbac.yaml');
  expect(script).toContain('docker build -t "$IMAGE" .');
  expect(script).toContain('serviceAccountName: amadeus');
});

test('every path the Dockerfile copies exists, and the image runs the CLI\'s serve', () => {
  const dockerfile = read('Dockerfile');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  expect(copies.length).toBeGreaterThan(3);
  for (const path of copies) expect(existsSync(new URL(path, root))).toBe(true);
  expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/);
  expect(dockerfile).toContain('CMD ["serve"]');
});
