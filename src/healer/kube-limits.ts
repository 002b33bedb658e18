/**
 * The size bounds of the Kubernetes API I/O (kube.ts), apart from it: `serve`'s option schema
 * declares --kube-max-answer-bytes from these without loading the Kubernetes client.
 */

/** Items per page of a paginated list: each page is one request under the deadline and the size cap. */
export const KUBE_LIST_PAGE = 500;

/**
 * The most bytes one answer of the Kubernetes API may take, and one event of a watch (one line of
 * its stream). Room for a page of KUBE_LIST_PAGE objects of 64 KiB each (a pod is typically 5–20
 * KiB of JSON, managedFields included), and far above the largest object etcd stores (1.5 MiB by
 * default), so a read of one object or one page fails on it only when something is wrong.
 */
export const KUBE_MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/**
 * What --kube-max-answer-bytes accepts: room for at least one of etcd's largest objects in JSON
 * (4 MiB), and at most 256 MiB (an answer is decoded into one string, and V8 refuses strings past
 * ~512 MiB; parsing one takes several times its size in memory).
 */
export const KUBE_MAX_ANSWER_BYTES_RANGE = { min: 4 * 1024 * 1024, max: 256 * 1024 * 1024 } as const;

/**
 * The most pods the healer's watches may cache, all namespaces together (--heal-max-pods). Every
 * replica keeps each watched pod in memory (about 7 KiB of heap for a typical pod without
 * managedFields, measured on the fixtures; several times that with many containers or env vars),
 * twice over during a re-list: 20,000 stays well within the image's 1.5 GiB limit. Past it the
 * healer stops watching a namespace — the one whose list does not fit, or the largest when a watch
 * passes it — (it then sees and does nothing there) and says how to narrow what it watches.
 */
export const HEAL_MAX_PODS = 20_000;
export const HEAL_MAX_PODS_RANGE = { min: 100, max: 1_000_000 } as const;

/**
 * The most Deployments, or StatefulSets, one known-good round lists in one scope (a namespace, or
 * all): each is held in memory for the round, managedFields and all (about 9 KiB each; 20,000 held
 * 182 MiB of heap). Past it the round fails for that scope, logged each minute, and marks nothing
 * there: with no known-good revision recorded, a rollback there is refused, never guessed. Watch
 * fewer namespaces (--heal-namespaces) to bring it back.
 */
export const HEAL_MAX_WORKLOADS_LISTED = 20_000;
