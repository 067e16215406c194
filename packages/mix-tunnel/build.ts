// Builds packages/mix-tunnel/dist/index.js: the worker bundled with the
// wasm core (build/wasm/mixcore.mjs, from `make wasm`) inlined, then the
// main module with that worker inlined as text (buildDist; `make packages`).
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../..');
export const MIXCORE_PATH = path.resolve(process.env['MIXCORE'] || path.join(REPO_ROOT, 'build/wasm/mixcore.mjs'));

export const mixcorePlugin: Plugin = {
  name: 'mixcore',
  setup(b) {
    b.onResolve({ filter: /^mixcore$/ }, () => ({ path: MIXCORE_PATH }));
  },
};

function workerSource(text: string): Plugin {
  return {
    name: 'mix-tunnel-worker-source',
    setup(b) {
      b.onResolve({ filter: /^mix-tunnel-worker-source$/ }, () => ({ path: 'worker', namespace: 'worker-source' }));
      b.onLoad({ filter: /.*/, namespace: 'worker-source' }, () => ({
        contents: `export default ${JSON.stringify(text)};`,
        loader: 'js',
      }));
    },
  };
}

/** The worker's JS (the wasm inside it), minified. */
export async function buildWorker(): Promise<string> {
  const result = await build({
    entryPoints: [path.join(HERE, 'src/worker.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
    plugins: [mixcorePlugin],
    // Emscripten's Node branch calls require('fs') and require('path'); it never runs in a browser
    external: [...builtinModules, 'node:*'],
  });
  return result.outputFiles[0]!.text;
}

/** A plugin that supplies the worker to packages/mix-tunnel/src/index.ts. */
export async function workerSourcePlugin(): Promise<Plugin> {
  return workerSource(await buildWorker());
}

/** Writes packages/mix-tunnel/dist/index.js; gives its path. */
export async function buildDist(): Promise<string> {
  const outfile = path.join(HERE, 'dist/index.js');
  await build({
    entryPoints: [path.join(HERE, 'src/index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
    plugins: [await workerSourcePlugin()],
  });
  return outfile;
}
