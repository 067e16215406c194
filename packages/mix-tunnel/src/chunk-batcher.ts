import { concatBytes } from './bytes';

/**
 * Body bytes on their way from the worker to the page, one message per
 * request at most every `intervalMs`: a download brings a chunk per TCP
 * segment, hundreds a second, and each message between the threads costs
 * both of them (and the page's acknowledgement of it, another). The first
 * chunk after a quiet interval goes at once, so a response's first bytes
 * are not held.
 */
export class ChunkBatcher {
  private readonly held = new Map<number, Uint8Array[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = -Infinity;

  constructor(
    private readonly send: (id: number, chunk: Uint8Array) => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(id: number, chunk: Uint8Array): void {
    const held = this.held.get(id);
    if (held) held.push(chunk);
    else this.held.set(id, [chunk]);
    if (this.timer !== undefined) return;
    const since = this.now() - this.lastSent;
    if (since >= this.intervalMs) this.flush();
    else this.timer = setTimeout(() => this.flush(), this.intervalMs - since);
  }

  /** Sends everything held, each request's bytes as one chunk in their order. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastSent = this.now();
    const held = [...this.held];
    this.held.clear();
    for (const [id, chunks] of held) this.send(id, chunks.length === 1 ? chunks[0]! : concatBytes(chunks));
  }
}
