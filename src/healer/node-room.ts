/**
 * The nodes' room for --heal-node-fit (node-fit.ts), read from the API server: every node
 * (listNode) and every pod bound to one, in every namespace (listPodForAllNamespaces: DaemonSets'
 * pods included). Both are read in pages of KUBE_LIST_PAGE, each one request under the clients'
 * deadline and answer-size cap, and folded into per-node sums as they come: one page is held at a
 * time, whatever the cluster's size. The whole read has NODE_ROOM_DEADLINE_MS. It is made only when
 * a raise that raises the pod's request is about to be made, and kept NODE_ROOM_TTL_MS (a failure
 * too), so a burst of OOM kills lists once and an API server that refused it is not asked again
 * for each.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { within } from '../deadline/deadline.js';
import { KUBE_LIST_PAGE, listAllPages } from './kube.js';
import { addPods, roomOf, type ClusterRoom } from './node-fit.js';

/** How long one read of the nodes' room serves the raises after it. */
export const NODE_ROOM_TTL_MS = 30_000;
/** The longest the two lists may take together: a raise waits on them. */
export const NODE_ROOM_DEADLINE_MS = 60_000;

/** Pods that hold room on a node: bound, and not finished (the server filters; addPods checks again). */
const HOLDING = 'spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed';

export class NodeRoomReader {
  private cached: { at: number; room: Promise<ClusterRoom> } | null = null;

  constructor(
    private readonly core: Pick<CoreV1Api, 'listNode' | 'listPodForAllNamespaces'>,
    private readonly clock: () => number,
    private readonly deadlineMs = NODE_ROOM_DEADLINE_MS,
  ) {}

  /** The nodes' room as read at most NODE_ROOM_TTL_MS ago (or now); rejects when it could not be read. */
  read(): Promise<ClusterRoom> {
    const now = this.clock();
    // A clock stepped back does not stretch the read's life.
    if (this.cached && now >= this.cached.at && now - this.cached.at < NODE_ROOM_TTL_MS) return this.cached.room;
    const room = within(this.list(), this.deadlineMs, 'Kubernetes API: the nodes and their pods (--heal-node-fit)');
    room.catch(() => undefined); // a cached failure is reported by each caller
    this.cached = { at: now, room };
    return room;
  }

  private async list(): Promise<ClusterRoom> {
    const room: ClusterRoom = new Map();
    // Each page is folded and let go: listAllPages keeps only what the page function returns.
    await listAllPages(async (cont) => {
      const page = await this.core.listNode({ limit: KUBE_LIST_PAGE, _continue: cont });
      roomOf(page.items, room);
      return { ...page, items: [] };
    }, this.deadlineMs);
    await listAllPages(async (cont) => {
      const page = await this.core.listPodForAllNamespaces({ fieldSelector: HOLDING, limit: KUBE_LIST_PAGE, _continue: cont });
      addPods(room, page.items);
      return { ...page, items: [] };
    }, this.deadlineMs);
    return room;
  }
}
