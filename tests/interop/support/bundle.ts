// Bundles the interop page with esbuild, as an app using the published
// packages would. They are installed under alias names (published-mix-*,
// see package.json), because this repository's own workspaces own the
// @nymproject/* names. Each published feature package imports
// `@nymproject/mix-tunnel`; an app's install dedupes that to one copy, so
// here every such import goes to the one published copy (published-mix-tunnel,
// the same 0.2.1), which keeps one worker and one tunnel per page.
import { createRequire } from 'node:module';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { REPO_ROOT } from '../../e2e/support/bundle';

const require = createRequire(path.join(REPO_ROOT, 'package.json'));

/** The published mix-tunnel's entry, from node_modules/published-mix-tunnel. */
export const PUBLISHED_TUNNEL_ENTRY = require.resolve('published-mix-tunnel');

const oneTunnel: Plugin = {
  name: 'published-mix-tunnel',
  setup(b) {
    b.onResolve({ filter: /^@nymproject\/mix-tunnel$/ }, (args) => {
      if (!args.importer.includes(`${path.sep}node_modules${path.sep}published-mix-`)) {
        return { errors: [{ text: `${args.importer} imports @nymproject/mix-tunnel: only the published packages may` }] };
      }
      return { path: PUBLISHED_TUNNEL_ENTRY };
    });
  },
};

export async function bundlePublished(entryPoints: Record<string, string>, outdir: string): Promise<void> {
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints,
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // the published tunnel is 16.6 MB of one line; a source map of it helps nobody
    sourcemap: false,
    logLevel: 'warning',
    plugins: [oneTunnel],
  });
}
