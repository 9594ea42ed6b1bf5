// A small workspace for the e2e test: a generated Kaggle-layout CSV, a face image, and settings.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodePng, grayToRgba, resizeGray, syntheticFaceSet, writeKaggleCsv } from '@keypoints/core';

const ws = process.argv[2];
mkdirSync(path.join(ws, '.vscode'), { recursive: true });
await writeKaggleCsv(syntheticFaceSet({ count: 240, seed: 5 }), path.join(ws, 'faces.csv'));
const face = syntheticFaceSet({ count: 1, seed: 1234 });
writeFileSync(path.join(ws, 'face.png'), encodePng(grayToRgba(resizeGray(face.pixels, 96, 96, 288, 288), 288, 288)));
writeFileSync(
  path.join(ws, '.vscode', 'settings.json'),
  JSON.stringify({ 'keypoints.dataPath': 'faces.csv', 'keypoints.preset': 'tiny', 'keypoints.runsFolder': 'runs', 'keypoints.configFile': 'quick.keypoints.json' }, null, 2),
);
writeFileSync(path.join(ws, 'quick.keypoints.json'), JSON.stringify({ preset: 'tiny', train: { epochs: 25 } }, null, 2));
