// The field app's outbox: status reports, messages and positions are written to IndexedDB first and sent
// in order, one at a time, each with its own Idempotency-Key. Offline (or on a network error) sending stops
// and resumes on the browser's "online" event or the next retry; a request whose answer was lost is sent
// again with the same key, and the server answers it without acting twice. Nothing is lost on reload.
import { ApiError, request } from "./api";

export type JobKind = "status" | "message" | "position" | "duty";
export interface Job {
  id?: number;
  key: string;
  kind: JobKind;
  path: string;
  json?: unknown;
  text?: string;
  photo?: Blob | null;
  label: string;
  at: number;
  dispatchId?: number;
}

const DB = "safecity-field";
const STORE = "outbox";
let dbp: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  dbp ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbp;
}

async function tx<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const req = fn(db.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

const all = () => tx<Job[]>("readonly", (s) => s.getAll() as IDBRequest<Job[]>);
const remove = (id: number) => tx("readwrite", (s) => s.delete(id));

type Listener = (jobs: Job[]) => void;
const listeners = new Set<Listener>();
const failListeners = new Set<(job: Job, err: Error) => void>();
let flushing = false;
let retry: number | undefined;

async function notify(): Promise<void> {
  const jobs = await all();
  listeners.forEach((fn) => fn(jobs));
}

export function onPending(fn: Listener): () => void {
  listeners.add(fn);
  void notify();
  return () => void listeners.delete(fn);
}

export function onFailed(fn: (job: Job, err: Error) => void): () => void {
  failListeners.add(fn);
  return () => void failListeners.delete(fn);
}

export function newKey(kind: string): string {
  const rnd = crypto.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `${kind}-${rnd}`.slice(0, 64);
}

/** Queue a request (it is stored before anything is sent) and try to send the queue now. */
export async function enqueue(job: Omit<Job, "key" | "at" | "id">): Promise<void> {
  await tx("readwrite", (s) => s.add({ ...job, key: newKey(job.kind), at: Date.now() }));
  await notify();
  void flush();
}

function send(job: Job): Promise<unknown> {
  const headers = { "Idempotency-Key": job.key };
  if (job.kind !== "message") return request("POST", job.path, job.json ?? {}, headers);
  const form = new FormData();
  form.set("text", job.text ?? "");
  if (job.photo) form.set("photo", job.photo, "photo.jpg");
  return request("POST", job.path, form, headers);
}

/** Send the queued requests in order; stops at the first one that cannot reach the server. */
export async function flush(): Promise<void> {
  if (flushing || !navigator.onLine) return;
  flushing = true;
  window.clearTimeout(retry);
  try {
    for (const job of await all()) {
      try {
        await send(job);
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 0;
        if (status === 0 || status === 401 || status === 429 || status >= 500) {
          retry = window.setTimeout(() => void flush(), 5000); // unreachable or busy: keep it, try later
          return;
        }
        failListeners.forEach((fn) => fn(job, err as Error)); // refused for good (409, 422): drop it
      }
      await remove(job.id!);
      await notify();
    }
  } finally {
    flushing = false;
  }
}

window.addEventListener("online", () => void flush());
