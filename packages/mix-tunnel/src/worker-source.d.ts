// The bundled worker (with the wasm inlined), as text; the package build
// (packages/mix-tunnel/build.mjs) supplies it.
declare module 'mix-tunnel-worker-source' {
  const source: string;
  export default source;
}
