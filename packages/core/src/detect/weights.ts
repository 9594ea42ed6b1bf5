import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { bundleDir, installedPackageDir } from '../util/locate.js';

/**
 * The face detectors' weights are the files `@vladmandic/face-api` (MIT) ships in its npm package's
 * `model/` folder: read from disk, never fetched. Bundles that ship without node_modules (the VS Code
 * extension) copy them beside themselves and may name the folder in this variable.
 */
export const DETECTOR_DIR_ENV = 'KEYPOINTS_FACE_DETECTOR_DIR';

/** The files each detector needs (manifest + the .bin shards it names). */
export const DETECTOR_FILES = {
  ssd: ['ssd_mobilenetv1_model-weights_manifest.json', 'ssd_mobilenetv1_model.bin'],
  tiny: ['tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin'],
} as const;

export type DetectorName = keyof typeof DETECTOR_FILES;

function packageModelDir(): string | undefined {
  const pkg = installedPackageDir('@vladmandic/face-api');
  return pkg && path.join(pkg, 'model');
}

/**
 * The folder holding `name`'s weight files: an explicit folder or $KEYPOINTS_FACE_DETECTOR_DIR
 * (then only that one: a silent fallback would hide a broken bundle), else the installed
 * face-api package's model/ folder, else `assets/` beside this bundle, else the bundle's folder.
 */
export function locateDetectorDir(name: DetectorName, explicit?: string): { dir: string | undefined; tried: string[] } {
  const chosen = explicit ?? process.env[DETECTOR_DIR_ENV];
  const here = bundleDir();
  const candidates = chosen ? [chosen] : [packageModelDir(), here && path.join(here, 'assets'), here];
  const tried: string[] = [];
  for (const c of candidates) {
    if (!c) continue;
    const dir = path.resolve(c);
    tried.push(dir);
    if (DETECTOR_FILES[name].every((f) => existsSync(path.join(dir, f)))) return { dir, tried };
  }
  return { dir: undefined, tried };
}

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** Reads a TF.js weights manifest and its shards from `dir` (uint8-quantised weights are dequantised). */
export async function loadWeightMap(name: DetectorName, explicitDir?: string): Promise<tf.NamedTensorMap> {
  const { dir, tried } = locateDetectorDir(name, explicitDir);
  if (!dir) {
    throw new UserError(
      `the ${name} face detector's weights (${DETECTOR_FILES[name].join(', ')}) were not found; looked in ${tried.join(', ') || 'nowhere'}. ` +
        `They come with the npm package @vladmandic/face-api (npm install @vladmandic/face-api@1.7.15), or set ${DETECTOR_DIR_ENV} to a folder holding them.`,
    );
  }
  const manifestFile = path.join(dir, DETECTOR_FILES[name][0]);
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(await readFile(manifestFile, 'utf8')) as ManifestGroup[];
  } catch (err) {
    throw new UserError(`${manifestFile}: not a readable weights manifest (${(err as Error).message})`);
  }
  const map: tf.NamedTensorMap = {};
  for (const g of groups) {
    const shards = await Promise.all(g.paths.map((p) => readFile(path.join(dir, p))));
    const bytes = Buffer.concat(shards);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    Object.assign(map, tf.io.decodeWeights(buffer, g.weights));
  }
  return map;
}

/** The tensor `key` of a weight map, checked for rank, so a wrong file fails with its name. */
export function weight<R extends tf.Rank>(map: tf.NamedTensorMap, key: string, rank: number, source: string): tf.Tensor<R> {
  const t = map[key];
  if (!t || t.rank !== rank) throw new UserError(`${source}: weight "${key}" ${t ? `has rank ${t.rank}, expected ${rank}` : 'is missing'}`);
  return t as tf.Tensor<R>;
}
