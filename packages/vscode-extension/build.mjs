// Builds the extension: the extension host bundle (CJS, `vscode` external), the trainer server
// bundle (the whole CLI with core and TF.js, ESM, started by the extension with the editor's Node),
// the webview scripts, the runtime files they load (wasm binaries, fonts, plotly), and the config JSON Schema for
// *.keypoints.json. `--package` then makes the VSIX with vsce (offline).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const dist = path.join(here, 'dist');
const assets = path.join(dist, 'assets');
// Emptied first: a file dropped from the list below must not linger in the VSIX from an older build.
rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

await build({
  entryPoints: [path.join(here, 'src/extension.ts')],
  outfile: path.join(dist, 'extension.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode'],
  sourcemap: true,
  logLevel: 'warning',
});

// The server, self-contained: the VSIX ships no node_modules.
await build({
  entryPoints: { server: path.join(here, '../cli/src/main.ts') },
  outdir: dist,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  // CommonJS dependencies (TF.js, emscripten glue) call require(): give the ESM bundle one.
  // TF.js backends register themselves on import; their package.json "sideEffects" lists would let
  // the bundler drop those imports, so annotations are ignored for this bundle.
  ignoreAnnotations: true,
  // Minified: 4.6 + 3.9 MB become about half. Names kept: TF.js and emscripten glue read some of them.
  minify: true,
  keepNames: true,
  banner: {
    js: [
      "import { createRequire as __kpCreateRequire } from 'node:module';",
      "import { fileURLToPath as __kpFileURLToPath } from 'node:url';",
      "const require = __kpCreateRequire(import.meta.url);",
      'const __filename = __kpFileURLToPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
  sourcemap: true,
  logLevel: 'warning',
});

// The webview pages' scripts, for the browser, typed against the protocol's message unions.
const webviewOut = path.join(dist, 'webview');
await build({
  entryPoints: ['curves', 'overlay', 'dataset', 'compare', 'evaluation'].map((n) => path.join(here, 'webview', `${n}.ts`)),
  outdir: webviewOut,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  logLevel: 'warning',
});

const copy = (from, to = path.basename(from)) => copyFileSync(from, path.join(assets, to));
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copy(path.join(wasmDir, f));
// The threaded binary's Emscripten glue and pthread worker script: without them a packaged
// extension trains on one thread (core/src/backend/wasm-threads.ts looks beside the wasm files).
for (const f of ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js']) copy(path.join(wasmDir, '..', 'wasm-out', f));
copy(require.resolve('@resvg/resvg-wasm/index_bg.wasm'));
const fonts = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
for (const f of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']) copy(path.join(fonts, f));
// face-api's npm files (MIT): the tiny face detector (the default, and the only one the extension asks
// for; the 5.6 MB SSD detector stays out) for predict on photos, and the 68-point landmark network
// for the `pretrained` preset. The server finds them through KEYPOINTS_FACE_DETECTOR_DIR (set by the
// extension) or in assets/ beside its bundle.
const faceApiModels = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
const { DETECTOR_FILES, LANDMARK68_FILES } = await import('@keypoints/core');
for (const f of [...DETECTOR_FILES.tiny, ...LANDMARK68_FILES]) copy(path.join(faceApiModels, f));
// Plotly's basic build (scatter, bar, pie: the curves are scatter lines; 1.2 MB, the full one 4.8 MB),
// shipped once in the VSIX (never a CDN): for the curves panel and the server's curves.html.
copy(require.resolve('plotly.js-basic-dist-min/plotly-basic.min.js'), 'plotly.min.js');

const { configJsonSchema } = await import('@keypoints/core');
writeFileSync(path.join(dist, 'keypoints.schema.json'), JSON.stringify(configJsonSchema(), null, 2));
const { sweepJsonSchema } = await import('@keypoints/core');
writeFileSync(path.join(dist, 'sweep.schema.json'), JSON.stringify(sweepJsonSchema(), null, 2));

// The docs' real screenshots, for the README and the walkthrough: copied (not committed twice) into
// pictures/, which the VSIX carries; on the Marketplace page vsce points the README's relative
// links at the same files in the repository (apps/docs/public/pictures).
const pictures = path.join(here, 'pictures');
mkdirSync(pictures, { recursive: true });
for (const f of ['predictions.png', 'learning-curve-default.png']) copyFileSync(path.join(here, '../../apps/docs/public/pictures', f), path.join(pictures, f));

if (process.argv.includes('--package')) {
  const images = 'https://github.com/keypoints-dev/keypoints/raw/HEAD/apps/docs/public';
  execFileSync(process.execPath, [require.resolve('@vscode/vsce/vsce'), 'package', '--no-dependencies', '--baseImagesUrl', images, '--baseContentUrl', 'https://github.com/keypoints-dev/keypoints/blob/HEAD/packages/vscode-extension', '--out', path.join(here, 'keypoints.vsix')], { cwd: here, stdio: 'inherit' });
}
