// One executable file for `keypoints`; core is bundled in, npm packages stay external.
import { build } from 'esbuild';
await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/keypoints.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
