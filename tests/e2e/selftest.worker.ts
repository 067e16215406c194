// Web Worker: loads the wasm core and exposes a hash over Comlink.
import * as Comlink from 'comlink';
import createMixCore from 'mixcore';
import { toHex } from '../../packages/mix-tunnel/src/hex';

const core = createMixCore();

const api = {
  async blake3Hex(bytes: Uint8Array): Promise<string> {
    const m = await core;
    const dataPtr = m._malloc(Math.max(bytes.length, 1));
    const outPtr = m._malloc(32);
    if (dataPtr === 0 || outPtr === 0) throw new Error('blake3Hex: out of memory');
    try {
      m.HEAPU8.set(bytes, dataPtr);
      m._blake3_hash(outPtr, dataPtr, bytes.length);
      // Read HEAPU8 again: memory may have grown during the call.
      return toHex(m.HEAPU8.slice(outPtr, outPtr + 32));
    } finally {
      m._free(outPtr);
      m._free(dataPtr);
    }
  },
};

export type SelftestApi = typeof api;

Comlink.expose(api);
