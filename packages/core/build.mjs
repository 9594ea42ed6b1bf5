// Bundles core's own code into one ESM file; npm dependencies stay external (TF.js finds its .wasm files beside itself).
import { build } from 'esbuild';
await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
// The data-parallel gradient engine's worker entry (src/backend/engine): found beside dist/index.js.
await build({
  entryPoints: ['src/backend/engine/worker.ts'],
  outfile: 'dist/gradient-worker.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
