// Node-side: what the page's dedicated worker costs, measured from outside
// so that both sides are measured alike without touching their code.
//
// CPU: the kernel's accounting of the worker's own thread (Chromium names
// it "DedicatedWorker thread"; /proc/<pid>/task/<tid>/schedstat starts with
// its run time in ns). Only this process's descendants are looked at: other
// browsers may be running on the machine. V8's background threads (compile,
// GC helpers) are not counted.
//
// Memory: DevTools on each worker target. Runtime.getHeapUsage gives V8's
// heap, the embedder's, and ArrayBuffer backing stores, but not wasm
// memories (checked in this Chromium). Those are collected by wrapping
// WebAssembly.instantiate, instantiateStreaming and Instance in the worker
// before its script runs (both sides' modules export their memory; looking
// them up later with Runtime.queryObjects crashes the renderer here), and
// their sizes are read at every sample. The bench's browser (cdp-browser.ts)
// hands each worker over while it is held at its start.
import { readdirSync, readFileSync } from 'node:fs';
import type { CdpSession } from './cdp-browser';

/** How often memory is sampled. */
const SAMPLE_INTERVAL_MS = 250;
/** What /proc/<pid>/task/<tid>/comm says for a dedicated worker's thread (15 bytes at most). */
const WORKER_THREAD_NAME = 'DedicatedWorker';

export interface WorkerProbe {
  /** Follows a worker: call while it is held at its start. */
  follow(worker: CdpSession): Promise<void>;
  /** CPU ms run so far by the page's worker threads; undefined when there is none. */
  cpuMs(): number | undefined;
  /** The most memory seen in the workers at one sample, in bytes; undefined before any sample. */
  peakBytes(): number | undefined;
  /** Why memory samples failed, if they did. */
  memoryError(): string | undefined;
  close(): void;
}

interface FollowedWorker {
  session: CdpSession;
  /** Runtime object id of the array COLLECT_WASM_MEMORIES fills. */
  wasmMemories?: string | undefined;
}

/** Evaluated in a worker before its script: gives an array that every wasm
 * memory an instance exports is added to. */
const COLLECT_WASM_MEMORIES = `(() => {
  const memories = [];
  const { instantiate, instantiateStreaming, Instance, Memory } = WebAssembly;
  const keep = (instance) => {
    for (const v of Object.values(instance.exports)) if (v instanceof Memory && !memories.includes(v)) memories.push(v);
    return instance;
  };
  WebAssembly.instantiate = function (...args) {
    return instantiate.apply(this, args).then((r) => (keep(r instanceof Instance ? r : r.instance), r));
  };
  WebAssembly.instantiateStreaming = function (...args) {
    return instantiateStreaming.apply(this, args).then((r) => (keep(r.instance), r));
  };
  WebAssembly.Instance = new Proxy(Instance, { construct: (target, args, newTarget) => keep(Reflect.construct(target, args, newTarget)) });
  return memories;
})()`;

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** CPU ms a thread has run, from the kernel's accounting; undefined once it is gone. */
function threadCpuMs(pid: number, tid: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

function threadsOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** CPU ms run so far by all threads of a process (localnet's, say); undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const per = threadsOf(pid).map((tid) => threadCpuMs(pid, tid));
  return per.length ? per.reduce<number>((sum, ms) => sum + (ms ?? 0), 0) : undefined;
}

function workerThreadsCpuMs(): number | undefined {
  let ms = 0;
  let threads = 0;
  for (const pid of descendantsOf(process.pid)) {
    for (const tid of threadsOf(pid)) {
      let name: string;
      try {
        name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        continue; // the thread ended meanwhile
      }
      const run = name === WORKER_THREAD_NAME ? threadCpuMs(pid, tid) : undefined;
      if (run === undefined) continue;
      ms += run;
      threads++;
    }
  }
  return threads ? ms : undefined;
}

export function createWorkerProbe(): WorkerProbe {
  let peak: number | undefined;
  let error: string | undefined;
  let sampling = false;
  const workers: FollowedWorker[] = [];

  async function workerBytes(w: FollowedWorker): Promise<number> {
    const heap = (await w.session.send('Runtime.getHeapUsage')) as {
      usedSize: number;
      embedderHeapUsedSize?: number;
      backingStorageSize?: number;
    };
    let wasm = 0;
    if (w.wasmMemories) {
      const r = (await w.session.send('Runtime.callFunctionOn', {
        objectId: w.wasmMemories,
        functionDeclaration: 'function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }',
        returnByValue: true,
      })) as { result: { value: number } };
      wasm = r.result.value;
    }
    return heap.usedSize + (heap.embedderHeapUsedSize ?? 0) + (heap.backingStorageSize ?? 0) + wasm;
  }

  async function sample(): Promise<void> {
    const live = workers.filter((w) => !w.session.detached);
    if (sampling || live.length === 0) return;
    sampling = true;
    try {
      const bytes = (await Promise.all(live.map(workerBytes))).reduce((a, b) => a + b, 0);
      peak = Math.max(peak ?? 0, bytes);
    } catch (e) {
      error ??= String(e);
    } finally {
      sampling = false;
    }
  }
  const timer = setInterval(() => void sample(), SAMPLE_INTERVAL_MS);

  return {
    async follow(session) {
      const worker: FollowedWorker = { session };
      workers.push(worker);
      try {
        const collected = (await session.send('Runtime.evaluate', { expression: COLLECT_WASM_MEMORIES })) as {
          result: { objectId?: string };
        };
        worker.wasmMemories = collected.result.objectId;
      } catch (err) {
        error ??= `wasm memories not followed: ${String(err)}`;
      }
    },
    cpuMs: workerThreadsCpuMs,
    peakBytes: () => peak,
    memoryError: () => error ?? (workers.length === 0 && peak === undefined ? 'no worker target was attached' : undefined),
    close() {
      clearInterval(timer);
    },
  };
}
