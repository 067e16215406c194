// Bundles e2e page and worker scripts with esbuild into a directory, with
// the wasm core and mix-tunnel's worker resolved as the package build does.
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { MIXCORE_PATH, mixcorePlugin, workerSourcePlugin } from '../../../packages/mix-tunnel/build';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export { MIXCORE_PATH };

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
    plugins: [mixcorePlugin, await workerSourcePlugin()],
    // Emscripten's Node branch calls require('fs') and require('path');
    // it never runs in a browser, so leave those calls alone.
    external: [...builtinModules, 'node:*'],
  });
}
