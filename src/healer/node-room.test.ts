/**
 * NodeRoomReader: the nodes and their pods read in pages and folded as they come, once for every
 * raise within NODE_ROOM_TTL_MS (a failure too), and again after it.
 */
import type { CoreV1Api, V1NodeList, V1PodList } from '@kubernetes/client-node';
import { NODE_ROOM_TTL_MS, NodeRoomReader } from './node-room.js';
import { MiB } from './quantity.js';

type Core = Pick<CoreV1Api, 'listNode' | 'listPodForAllNamespaces'>;

/** A CoreV1Api serving two nodes (one a page) and three pods (two then one), counting its calls. */
function fakeCore(fail?: () => Error): { core: Core; calls: string[] } {
  const calls: string[] = [];
  const node = (name: string) => ({ metadata: { name }, status: { allocatable: { memory: '1Gi' }, conditions: [{ type: 'Ready', status: 'True' }] } });
  const pod = (name: string, nodeName: string) => ({ metadata: { name }, spec: { nodeName, containers: [{ name: 'app', resources: { requests: { memory: '100Mi' } } }] } });
  const core = {
    listNode: async (p: { _continue?: string; limit?: number }) => {
      calls.push(`nodes ${p._continue ?? '-'} ${p.limit}`);
      if (fail) throw fail();
      return (p._continue ? { items: [node('n2')], metadata: {} } : { items: [node('n1')], metadata: { _continue: 'more' } }) as V1NodeList;
    },
    listPodForAllNamespaces: async (p: { _continue?: string; fieldSelector?: string }) => {
      calls.push(`pods ${p._continue ?? '-'} ${p.fieldSelector}`);
      return (p._continue ? { items: [pod('c', 'n2')], metadata: {} } : { items: [pod('a', 'n1'), pod('b', 'n1')], metadata: { _continue: 'more' } }) as V1PodList;
    },
  } as unknown as Core;
  return { core, calls };
}

test('every page of nodes and of the pods bound to them is folded; the read serves NODE_ROOM_TTL_MS, then is made again', async () => {
  let now = 0;
  const { core, calls } = fakeCore();
  const reader = new NodeRoomReader(core, () => now);
  const room = await reader.read();
  expect([...room.values()].map((n) => `${n.name} ${n.requestedBytes / MiB}`)).toEqual(['n1 200', 'n2 100']);
  expect(calls).toEqual(['nodes - 500', 'nodes more 500', 'pods - spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed', 'pods more spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed']);
  now = NODE_ROOM_TTL_MS - 1;
  expect(await reader.read()).toBe(room);
  expect(calls).toHaveLength(4);
  now = NODE_ROOM_TTL_MS;
  await reader.read();
  expect(calls).toHaveLength(8);
  // A clock stepped back: read again, not served for as long as the step.
  now = 0;
  await reader.read();
  expect(calls).toHaveLength(12);
});

test('a failed read fails every caller within NODE_ROOM_TTL_MS without asking again; the next one after it asks', async () => {
  let now = 0;
  const { core, calls } = fakeCore(() => new Error('HTTP 403: nodes is forbidden'));
  const reader = new NodeRoomReader(core, () => now);
  await expect(reader.read()).rejects.toThrow('HTTP 403');
  await expect(reader.read()).rejects.toThrow('HTTP 403');
  expect(calls).toEqual(['nodes - 500']);
  now = NODE_ROOM_TTL_MS;
  await expect(reader.read()).rejects.toThrow('HTTP 403');
  expect(calls).toHaveLength(2);
});

test('a server that does not answer: the read fails at its deadline (each request has the clients\' own too)', async () => {
  const core = { listNode: () => new Promise(() => {}), listPodForAllNamespaces: () => new Promise(() => {}) } as unknown as Core;
  await expect(new NodeRoomReader(core, () => 0, 50).read()).rejects.toThrow('Kubernetes API: the nodes and their pods (--heal-node-fit): deadline exceeded after 0.05s');
});
