import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The binary the Node build of tfjs-backend-wasm loads (SIMD is always available on Node 20). */
export const WASM_PROBE_FILE = 'tfjs-backend-wasm-simd.wasm';

/** Env var for bundles (e.g. the VS Code extension) that copy the .wasm files somewhere of their own. */
export const WASM_DIR_ENV = 'KEYPOINTS_WASM_DIR';

function thisFileDir(): string | undefined {
  try {
    // import.meta.url is empty in esbuild's CJS output (e.g. a VS Code extension bundle): use __dirname there.
    if (import.meta.url) return path.dirname(fileURLToPath(import.meta.url));
    return typeof __dirname === 'string' ? __dirname : undefined;
  } catch {
    return undefined;
  }
}

function packageDistDir(): string | undefined {
  const bases = [import.meta.url, typeof __filename === 'string' ? __filename : undefined, path.join(process.cwd(), 'noop.js')];
  for (const base of bases) {
    if (!base) continue;
    try {
      const pkg = createRequire(base).resolve('@tensorflow/tfjs-backend-wasm/package.json');
      return path.join(path.dirname(pkg), 'dist');
    } catch {
      // try the next base
    }
  }
  return undefined;
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
  const candidates = chosen ? [chosen] : [packageDistDir(), thisFileDir()];
  const tried: string[] = [];
  for (const c of candidates) {
    if (!c) continue;
    const dir = path.resolve(c);
    tried.push(dir);
    if (existsSync(path.join(dir, WASM_PROBE_FILE))) return { dir: dir + path.sep, tried };
  }
  return { dir: undefined, tried };
}
