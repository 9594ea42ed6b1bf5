// Bundles core's own code into ESM files; npm dependencies stay external (TF.js finds its .wasm files beside itself).
// `protocol` is a separate entry so the VS Code extension can import the RPC contract without TF.js.
import { build } from 'esbuild';
await build({
  entryPoints: { index: 'src/index.ts', protocol: 'src/protocol/index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
