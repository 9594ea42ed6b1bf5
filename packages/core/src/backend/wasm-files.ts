import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleDir, installedPackageDir } from '../util/locate.js';

/** The binary the Node build of tfjs-backend-wasm loads (SIMD is always available on Node 20). */
export const WASM_PROBE_FILE = 'tfjs-backend-wasm-simd.wasm';

/** Env var for bundles (e.g. the VS Code extension) that copy the .wasm files somewhere of their own. */
export const WASM_DIR_ENV = 'KEYPOINTS_WASM_DIR';

function packageDistDir(): string | undefined {
  const pkg = installedPackageDir('@tensorflow/tfjs-backend-wasm');
  return pkg && path.join(pkg, 'dist');
}

/**
 * Finds the folder holding tfjs-backend-wasm's .wasm binaries: an explicit option or
 * $KEYPOINTS_WASM_DIR when set, else the installed package's dist folder, then the folder of the bundle
 * that contains this code (bundlers that copy the binaries beside their output).
 * Returns the folder with a trailing separator, as `setWasmPaths` wants it, and where it looked.
 */
export function locateWasmDir(explicit?: string): { dir: string | undefined; tried: string[] } {
  // An explicit choice is the only candidate: falling back silently would hide a broken bundle.
  const chosen = explicit ?? process.env[WASM_DIR_ENV];
  const candidates = chosen ? [chosen] : [packageDistDir(), bundleDir()];
  const tried: string[] = [];
  for (const c of candidates) {
    if (!c) continue;
    const dir = path.resolve(c);
    tried.push(dir);
    if (existsSync(path.join(dir, WASM_PROBE_FILE))) return { dir: dir + path.sep, tried };
  }
  return { dir: undefined, tried };
}
