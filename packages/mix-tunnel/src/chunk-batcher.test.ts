import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChunkBatcher } from './chunk-batcher';

describe('ChunkBatcher', () => {
  let sent: Array<[number, number[]]>;
  let batcher: ChunkBatcher;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    batcher = new ChunkBatcher((id, chunk) => sent.push([id, [...chunk]]), 8, () => Date.now());
  });
  afterEach(() => vi.useRealTimers());

  it('sends the first chunk at once', () => {
    batcher.push(1, Uint8Array.of(1, 2));
    expect(sent).toEqual([[1, [1, 2]]]);
  });

  it('joins what comes within the interval into one chunk, sent when it ends', () => {
    batcher.push(1, Uint8Array.of(1));
    batcher.push(1, Uint8Array.of(2));
    vi.advanceTimersByTime(3);
    batcher.push(1, Uint8Array.of(3, 4));
    expect(sent).toEqual([[1, [1]]]);
    vi.advanceTimersByTime(4);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([
      [1, [1]],
      [1, [2, 3, 4]],
    ]);
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(2);
  });

  it('keeps requests apart, and flush sends what is held at once', () => {
    batcher.push(1, Uint8Array.of(1));
    batcher.push(2, Uint8Array.of(9));
    batcher.push(1, Uint8Array.of(2));
    batcher.flush();
    expect(sent).toEqual([
      [1, [1]],
      [2, [9]],
      [1, [2]],
    ]);
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(3);
  });

  it('sends at once again after a quiet interval', () => {
    batcher.push(1, Uint8Array.of(1));
    vi.advanceTimersByTime(8);
    batcher.push(1, Uint8Array.of(2));
    expect(sent).toEqual([
      [1, [1]],
      [1, [2]],
    ]);
  });
});
