/** What can be checked here of the scripts and files for real clusters, which need Docker to run. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

test('scripts/kind-e2e.sh is valid bash and deploys the kind overlay with the image it builds', () => {
  execFileSync('bash', ['-n', new URL('scripts/kind-e2e.sh', root).pathname]);
  const script = read('scripts/kind-e2e.sh');
  expect(script).toContain('kubectl apply -k keda/overlays/kind');
  expect(script).toContain('docker build -t "$IMAGE" .');
  expect(script).toContain('IMAGE=amadeus:e2e');
  // The overlay it applies runs that image, never pulled, healing the namespace the script uses.
  const overlay = read('keda/overlays/kind/kustomization.yaml') + read('keda/overlays/kind/deployment.yaml') + read('keda/overlays/kind/config.yaml');
  expect(overlay).toMatch(/newName: amadeus\s+newTag: e2e/);
  expect(overlay).toContain('imagePullPolicy: Never');
  expect(overlay).toContain('AMADEUS_HEAL_NAMESPACES: "e2e"');
  // Its ScaledObject has no query (no Prometheus there): the overlay turns the replay source on,
  // without which Amadeus refuses such a trigger.
  expect(script).toMatch(/kind: ScaledObject/);
  expect(script).not.toMatch(/\bquery:/);
  expect(overlay).toContain('AMADEUS_REPLAY: "true"');
});

test('scripts/kind-online-boutique.sh is valid bash and applies the Online Boutique overlay with the Locust flash sale', () => {
  execFileSync('bash', ['-n', new URL('scripts/kind-online-boutique.sh', root).pathname]);
  const script = read('scripts/kind-online-boutique.sh');
  // The Online Boutique overlay with kind's ReadWriteOnce weights claim (kind has no ReadWriteMany).
  expect(script).toContain('kubectl apply -k keda/overlays/kind-online-boutique');
  expect(read('keda/overlays/kind-online-boutique/kustomization.yaml')).toMatch(/resources:\s+- \.\.\/online-boutique\s+patches:\s+- path: pvc\.yaml/);
  expect(script).toContain('locust -f scripts/locust/locustfile.py');
  expect(script).toContain('AMADEUS_SHAPE=flash-sale');
});

test('every path the Dockerfile copies exists, and the image runs the CLI\'s serve', () => {
  const dockerfile = read('Dockerfile');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  expect(copies.length).toBeGreaterThan(3);
  for (const path of copies) expect(existsSync(new URL(path, root))).toBe(true);
  expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/);
  expect(dockerfile).toContain('CMD ["serve"]');
});
