// Builds packages/mix-tunnel/dist/index.js: the worker bundled with the
// wasm core (build/wasm/mixcore.mjs, from `make wasm`) inlined, then the
// main module with that worker inlined as text (buildDist; `make packages`).
import { copyFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../..');
export const MIXCORE_PATH = path.resolve(process.env['MIXCORE'] || path.join(REPO_ROOT, 'build/wasm/mixcore.mjs'));

/** Maps the bare import `mixcore` onto a build of the wasm module. */
function mixcoreAt(file: string): Plugin {
  return {
    name: 'mixcore',
    setup(b) {
      b.onResolve({ filter: /^mixcore$/ }, () => ({ path: file }));
    },
  };
}

/** The module with the wasm inside it (base64), for the inlined worker. */
export const mixcorePlugin = mixcoreAt(MIXCORE_PATH);
/** The same module loading mixcore-split.wasm from beside the script, for the worker served as a file. */
export const MIXCORE_SPLIT_PATH = path.join(path.dirname(MIXCORE_PATH), 'mixcore-split.mjs');

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

/** How both the worker and the main module are bundled. */
const BROWSER_MODULE: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  logLevel: 'warning',
};

const WORKER_BUILD: BuildOptions = {
  ...BROWSER_MODULE,
  entryPoints: [path.join(HERE, 'src/worker.ts')],
  // Emscripten's Node branch calls require('fs') and require('path'); it never runs in a browser
  external: [...builtinModules, 'node:*'],
};

/** The worker's JS (the wasm inside it), minified. */
export async function buildWorker(): Promise<string> {
  const result = await build({ ...WORKER_BUILD, write: false, plugins: [mixcorePlugin] });
  return result.outputFiles[0]!.text;
}

/** For pages whose CSP refuses blob: workers: the worker as outdir/worker.js with
 * mixcore-split.wasm beside it (useMixTunnelWorkerUrl points the package at it). */
export async function buildWorkerFiles(outdir: string): Promise<void> {
  await build({ ...WORKER_BUILD, outfile: path.join(outdir, 'worker.js'), plugins: [mixcoreAt(MIXCORE_SPLIT_PATH)] });
  await copyFile(path.join(path.dirname(MIXCORE_PATH), 'mixcore-split.wasm'), path.join(outdir, 'mixcore-split.wasm'));
}

/** A plugin that supplies the worker to packages/mix-tunnel/src/index.ts. */
export async function workerSourcePlugin(): Promise<Plugin> {
  return workerSource(await buildWorker());
}

/** Writes packages/mix-tunnel/dist/index.js; gives its path. */
export async function buildDist(): Promise<string> {
  const outfile = path.join(HERE, 'dist/index.js');
  await build({
    ...BROWSER_MODULE,
    entryPoints: [path.join(HERE, 'src/index.ts')],
    outfile,
    plugins: [await workerSourcePlugin()],
  });
  await buildWorkerFiles(path.dirname(outfile));
  return outfile;
}
