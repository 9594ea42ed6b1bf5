// A small workspace for the e2e test: a generated Kaggle-layout CSV, a face image, and settings.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeImage, encodePng, grayToRgba, resolveConfig, syntheticFaceSet, train, writeKaggleCsv } from '@keypoints/core';

const ws = process.argv[2];
mkdirSync(path.join(ws, '.vscode'), { recursive: true });
// Like Kaggle's file, many rows label only some keypoints: every third row here lacks the eye
// corners and eyebrows (keypoints 2-9), so the preview has misses to count and training masks them.
const set = syntheticFaceSet({ count: 160, seed: 5 });
const K = set.keypoints.length;
for (let r = 0; r < set.count; r += 3) for (let k = 2; k <= 9; k++) set.coords.fill(NaN, (r * K + k) * 2, (r * K + k) * 2 + 2);
await writeKaggleCsv(set, path.join(ws, 'faces.csv'));
const face = syntheticFaceSet({ count: 1, seed: 1234 });
// A model-sized crop: predicted as it is (no face detection), so the synthetic face needs no detector.
writeFileSync(path.join(ws, 'face.png'), encodePng(grayToRgba(face.pixels, 96, 96)));
// A photo with two real faces (two faces96 photos side by side), when the shared data is present:
// the overlay must find and draw both.
const photos = path.resolve(import.meta.dirname, '../../../shared/data/faces96/photos');
if (existsSync(photos)) {
  const [a, b] = ['Ahmed_Ahmed_42.png', 'Alejandro_Toledo_51.png'].map((f) => decodeImage(readFileSync(path.join(photos, f)), f));
  const W = a.width + b.width, H = Math.max(a.height, b.height);
  const data = new Uint8Array(W * H * 4).fill(128);
  for (const [img, ox] of [[a, 0], [b, a.width]]) for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 4, (y + 1) * img.width * 4), (y * W + ox) * 4);
  writeFileSync(path.join(ws, 'two-faces.png'), encodePng({ width: W, height: H, data }));
}
writeFileSync(
  path.join(ws, '.vscode', 'settings.json'),
  JSON.stringify({ 'keypoints.dataPath': 'faces.csv', 'keypoints.preset': 'tiny', 'keypoints.runsFolder': 'runs', 'keypoints.configFile': 'quick.keypoints.json' }, null, 2),
);
writeFileSync(path.join(ws, 'quick.keypoints.json'), JSON.stringify({ preset: 'tiny', train: { epochs: 40 } }, null, 2));
// A config with a wrong type: the editor must flag it from the extension's JSON Schema.
writeFileSync(path.join(ws, 'bad.keypoints.json'), JSON.stringify({ preset: 'tiny', train: { epochs: 'many' } }, null, 2));
// A finished run beside the one the test trains from the palette (another learning rate, 3 epochs):
// the Runs view lists both, and Compare Runs tabulates the two.
await train({
  runDir: path.join(ws, 'runs', 'baseline-lr-3e-3'),
  config: resolveConfig({ preset: 'tiny', backend: 'wasm', data: { path: path.join(ws, 'faces.csv') }, train: { epochs: 3, learningRate: 3e-3 } }),
});
