// The Emscripten module built by `make wasm` (build/wasm/mixcore.mjs).
// Bundlers map the bare name `mixcore` onto that file.
declare module 'mixcore' {
  export interface MixCore {
    HEAPU8: Uint8Array;
    _malloc(size: number): number;
    _free(ptr: number): void;
    UTF8ToString(ptr: number): string;
    stringToUTF8(text: string, ptr: number, size: number): void;
    lengthBytesUTF8(text: string): number;
    /** Writes the 32-byte BLAKE3 hash of data[0..len) to out. */
    _blake3_hash(outPtr: number, dataPtr: number, len: number): void;
    /** wasm/src/api/api.h: JSON options in; 0, or -1 with _mix_last_error. */
    _mix_tunnel_setup(optionsJsonPtr: number): number;
    _mix_tunnel_disconnect(): void;
    _mix_tunnel_state_json(): number;
    _mix_tunnel_stats_json(): number;
    _mix_last_error(): number;
    /** want: 1 A, 2 AAAA, 3 both; the answer comes as a "dns" event with this id. */
    _mix_dns_resolve(id: number, namePtr: number, want: number): number;
    _mix_dns_cancel(id: number): void;
    /** Options JSON; 0, a negative ws_call_result, or -1 with _mix_last_error. */
    _mix_ws_open(id: number, optionsJsonPtr: number): number;
    _mix_ws_send(id: number, binary: boolean, dataPtr: number, len: number): number;
    _mix_ws_close(id: number, code: number, reasonPtr: number): number;
    _mix_ws_buffered_amount(id: number): number;
    /** Request JSON and an optional body of bytes (0, 0 for none); 0, or -1 with _mix_last_error. */
    _mix_fetch_start(id: number, requestJsonPtr: number, bodyPtr: number, bodyLen: number): number;
    _mix_fetch_body_write(id: number, dataPtr: number, len: number): number;
    _mix_fetch_body_end(id: number): number;
    _mix_fetch_consumed(id: number, len: number): void;
    _mix_fetch_abort(id: number): void;
  }
  export default function createMixCore(overrides?: Record<string, unknown>): Promise<MixCore>;
}
