// Bundles e2e page and worker scripts with esbuild into a directory.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The wasm core from `make wasm`; MIXCORE=<file> overrides it. */
export const MIXCORE_PATH = path.resolve(
  process.env['MIXCORE'] || path.join(REPO_ROOT, 'build/wasm/mixcore.mjs'),
);

// Maps the bare import `mixcore` onto MIXCORE_PATH.
const mixcore: Plugin = {
  name: 'mixcore',
  setup(b) {
    b.onResolve({ filter: /^mixcore$/ }, () => ({ path: MIXCORE_PATH }));
  },
};

export async function bundle(entryPoints: Record<string, string>, outdir: string): Promise<void> {
  await build({
    entryPoints,
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [mixcore],
    // Emscripten's Node branch calls require('fs') and require('path');
    // it never runs in a browser, so leave those calls alone.
    external: [...builtinModules, 'node:*'],
  });
}
