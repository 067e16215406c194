// The Emscripten module built by `make wasm` (build/wasm/mixcore.mjs).
// The e2e bundler maps the bare name `mixcore` onto that file.
declare module 'mixcore' {
  export interface MixCore {
    HEAPU8: Uint8Array;
    _malloc(size: number): number;
    _free(ptr: number): void;
    /** Writes the 32-byte BLAKE3 hash of data[0..len) to out. */
    _blake3_hash(outPtr: number, dataPtr: number, len: number): void;
  }
  export default function createMixCore(overrides?: Record<string, unknown>): Promise<MixCore>;
}
