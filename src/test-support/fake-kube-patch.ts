/**
 * The three patch formats the Kubernetes API server accepts on PATCH, for the fake API server in
 * fake-kube.ts: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and strategic merge patch.
 * Every function works on a copy and never mutates its inputs, so a failed patch leaves the
 * stored object untouched.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A patch the server cannot apply; `status` is the HTTP code the API server answers with. */
export class PatchError extends Error {
  constructor(
    readonly status: 400 | 422,
    message: string,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// RFC 6902 JSON Patch
// ---------------------------------------------------------------------------------------------

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(400, `invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container holding the pointer's last token, and that token. */
function locate(doc: Json, pointer: string): { parent: Json; key: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError(422, 'operations on the document root are not supported');
  let parent: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(parent)
      ? parent[arrayIndex(t, parent.length - 1)]
      : isObject(parent)
        ? parent[t]
        : undefined;
    if (next === undefined) throw new PatchError(422, `path ${pointer}: missing value at "${t}"`);
    parent = next;
  }
  return { parent, key: tokens[tokens.length - 1] };
}

function arrayIndex(token: string, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) > max) {
    throw new PatchError(422, `invalid array index "${token}"`);
  }
  return Number(token);
}

function getAt(doc: Json, pointer: string): Json {
  if (pointer === '') return doc;
  const { parent, key } = locate(doc, pointer);
  const v = Array.isArray(parent) ? parent[arrayIndex(key, parent.length - 1)] : isObject(parent) ? parent[key] : undefined;
  if (v === undefined) throw new PatchError(422, `path ${pointer}: missing value`);
  return v;
}

function absentOrNull(doc: Json, pointer: string): boolean {
  if (pointer === '') return doc === null;
  const { parent, key } = locate(doc, pointer);
  if (!isObject(parent) && !Array.isArray(parent)) throw new PatchError(422, `path ${pointer}: parent is not a container`);
  const v = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  return v === undefined || v === null;
}

function addAt(doc: Json, pointer: string, value: Json): void {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) {
    parent.splice(key === '-' ? parent.length : arrayIndex(key, parent.length), 0, value);
  } else if (isObject(parent)) {
    parent[key] = value;
  } else {
    throw new PatchError(422, `path ${pointer}: parent is not a container`);
  }
}

function removeAt(doc: Json, pointer: string): Json {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(key, parent.length - 1), 1)[0];
  if (isObject(parent) && key in parent) {
    const v = parent[key];
    delete parent[key];
    return v;
  }
  throw new PatchError(422, `unable to remove nonexistent key ${pointer}`);
}

/** Applies RFC 6902 operations atomically: any failure (including a failed `test`) throws and nothing changes. */
export function applyJsonPatch<T>(doc: T, ops: unknown): T {
  if (!Array.isArray(ops)) throw new PatchError(400, 'a JSON patch must be an array of operations');
  const out = clone(doc) as Json;
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(400, `invalid JSON patch operation ${JSON.stringify(raw)}`);
    }
    const { op, path } = raw;
    const value = clone(raw.value);
    const needsValue = op === 'add' || op === 'replace' || op === 'test';
    if (needsValue && value === undefined) throw new PatchError(400, `operation ${op} ${path} has no value`);
    const needsFrom = op === 'move' || op === 'copy';
    if (needsFrom && typeof raw.from !== 'string') throw new PatchError(400, `operation ${op} ${path} has no from`);
    const from = raw.from as string;
    switch (op) {
      case 'add':
        addAt(out, path, value as Json);
        break;
      case 'remove':
        removeAt(out, path);
        break;
      case 'replace':
        getAt(out, path); // must exist
        removeAt(out, path);
        addAt(out, path, value as Json);
        break;
      case 'move':
        if (path.startsWith(from + '/')) throw new PatchError(422, `cannot move ${from} into its own child ${path}`);
        addAt(out, path, removeAt(out, from));
        break;
      case 'copy':
        addAt(out, path, clone(getAt(out, from)));
        break;
      case 'test':
        // As the API server's json-patch library: a test against null passes on a missing member (of an
        // existing parent), which is how a patch asserts that a field is still absent.
        if (value === null ? !absentOrNull(out, path) : !deepEqual(getAt(out, path), value)) throw new PatchError(422, `testing value ${path} failed: test failed`);
        break;
      default:
        throw new PatchError(400, `unknown JSON patch operation ${JSON.stringify(op)}`);
    }
  }
  return out as T;
}

// ---------------------------------------------------------------------------------------------
// RFC 7386 JSON Merge Patch
// ---------------------------------------------------------------------------------------------

/** Objects merge recursively, null deletes a key, anything else (lists included) replaces. */
export function applyMergePatch<T>(target: T, patch: unknown): T {
  return mergeValue(target as Json, patch as Json) as T;
}

function mergeValue(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(out[k], v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch
// ---------------------------------------------------------------------------------------------

/**
 * The `patchMergeKey` of the list fields in the Kubernetes types the fake serves (pods and their
 * templates, workload status conditions, owner references). Lists not named here are atomic and
 * replaced whole, as tolerations, args and command are in the real API. Keyed by field name only,
 * which is unambiguous for these types (a Service's `ports`, keyed by `port`, is not served).
 */
export const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  resourceClaims: 'name',
};

/** Lists of scalars whose patch strategy is `merge` (set union) instead of replace. */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

const DELETE = Symbol('delete');

/**
 * Merge patch semantics, except that lists with a merge key (MERGE_KEYS) are merged element by
 * element, matched on the key, and the directives `$patch: replace|delete|merge` and
 * `$deleteFromPrimitiveList/<field>` are honoured; `$retainKeys` and `$setElementOrder/<field>`
 * are accepted and ignored (they only affect field pruning and element order).
 */
export function applyStrategicMergePatch<T>(target: T, patch: unknown): T {
  if (!isObject(patch)) throw new PatchError(400, 'a strategic merge patch must be a JSON object');
  const out = smpObject(target as Json, patch);
  if (out === DELETE) throw new PatchError(422, '$patch: delete of the whole object is not supported');
  return out as T;
}

function smpObject(target: Json | undefined, patch: JsonObject): Json | typeof DELETE {
  const directive = patch.$patch;
  if (directive === 'delete') return DELETE;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge') throw new PatchError(400, `unknown $patch directive ${JSON.stringify(directive)}`);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  const deletions: [string, Json][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      deletions.push([k.slice('$deleteFromPrimitiveList/'.length), v]);
    } else if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = smpList(k, out[k], v);
    } else if (isObject(v)) {
      const merged = smpObject(out[k], v);
      if (merged === DELETE) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [field, values] of deletions) {
    const list = out[field];
    if (Array.isArray(list) && Array.isArray(values)) {
      out[field] = list.filter((x) => !values.some((d) => deepEqual(d, x)));
    }
  }
  return out;
}

function smpList(field: string, target: Json | undefined, patch: Json[]): Json[] {
  // A `{$patch: replace}` element makes the rest of the patch list the new list.
  if (patch.some((el) => isObject(el) && el.$patch === 'replace')) {
    return patch.filter((el) => !(isObject(el) && el.$patch === 'replace')).map(stripDirectives);
  }
  const base = Array.isArray(target) ? clone(target) : [];
  if (MERGED_SCALAR_LISTS.has(field)) {
    return [...base, ...patch.filter((x) => !base.some((y) => deepEqual(x, y)))];
  }
  const key = MERGE_KEYS[field];
  if (!key || !patch.every(isObject)) return patch.map(stripDirectives);
  const out = base;
  for (const el of patch as JsonObject[]) {
    if (!(key in el)) throw new PatchError(422, `${field}: element ${JSON.stringify(el)} does not contain declared merge key: ${key}`);
    const i = out.findIndex((x) => isObject(x) && deepEqual(x[key], el[key]));
    if (el.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    const merged = smpObject(i >= 0 ? out[i] : undefined, el);
    if (merged === DELETE) continue;
    if (i >= 0) out[i] = merged;
    else out.push(merged);
  }
  return out;
}

/** A patch value inserted verbatim, minus any directive keys nested in it. */
function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}
