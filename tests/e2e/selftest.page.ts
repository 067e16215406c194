// Page script: starts the worker and hands the test a way to call it.
import * as Comlink from 'comlink';
import type { SelftestApi } from './selftest.worker';

declare global {
  interface Window {
    selftest: { blake3Hex(bytes: number[]): Promise<string> };
  }
}

const worker = new Worker(new URL('./selftest.worker.js', import.meta.url), { type: 'module' });
worker.addEventListener('error', (e) => console.error(`worker error: ${e.message}`));
const api = Comlink.wrap<SelftestApi>(worker);

window.selftest = {
  blake3Hex: (bytes) => api.blake3Hex(Uint8Array.from(bytes)),
};
document.body.dataset['ready'] = '1';
