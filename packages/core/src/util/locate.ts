import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of the file (or bundle) running this code. import.meta.url is empty in esbuild's CJS
 * output (a VS Code extension bundle): __dirname is that folder there.
 */
export function bundleDir(): string | undefined {
  try {
    if (import.meta.url) return path.dirname(fileURLToPath(import.meta.url));
    return typeof __dirname === 'string' ? __dirname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The folder of an installed npm package (where its package.json is), resolved from this module,
 * then from the bundle's file, then from the working directory; undefined when none finds it.
 */
export function installedPackageDir(name: string): string | undefined {
  const bases = [import.meta.url || undefined, typeof __filename === 'string' ? __filename : undefined, path.join(process.cwd(), 'noop.js')];
  for (const base of bases) {
    if (!base) continue;
    try {
      return path.dirname(createRequire(base).resolve(`${name}/package.json`));
    } catch {
      // try the next base
    }
  }
  return undefined;
}
