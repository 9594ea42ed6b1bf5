#!/usr/bin/env node
// Committed launcher for the `keypoints` bin: npm links bins at `npm ci`, before any build, and a bin
// whose target is missing is never linked; this file always exists and loads the built CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/keypoints.js', import.meta.url));
if (!existsSync(built)) {
  console.error('keypoints: the CLI is not built yet (no packages/cli/dist/keypoints.js); run `npm run build` in the repository first.');
  process.exit(1);
}
await import(built);
