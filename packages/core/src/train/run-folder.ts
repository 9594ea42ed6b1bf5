/** Run folders on disk: the model (TF.js layers format), checkpoints, metrics and the list of runs. */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { KeypointsConfig } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { InputError, UserError } from '../errors.js';
import type { KeypointModel, OutputOffsets } from '../predict/model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { parseJsonLines, readJsonFile } from '../util/json-file.js';
import { readRegularFile, resolveInside } from '../util/paths.js';
import type { EpochMetrics } from './events.js';
import { predictBatch, predictOnBackend } from '../model/forward.js';
import { combineModels } from '../model/combine.js';

export { predictBatch, predictOnBackend };

/** What model.json carries besides the network, so predict/evaluate need nothing else. */
export interface ModelMetadata {
  keypoints: string[];
  imageSize: number;
  preset: string;
  epoch: number;
  valRmse: number;
  /**
   * SHA-256 of weights.bin: the two files are renamed one after the other, so a kill between them
   * can pair a model.json with another epoch's weights; loadRun then refuses, and resume rewrites both.
   */
  weightsSha256?: string;
  /** Output offsets fitted on the training faces when the run finished (predict/offsets.ts); absent in older runs. */
  offsets?: OutputOffsets;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Serialises a tfjs-layers model to TF.js's layers format (model.json + weights.bin), atomically. */
export async function saveModel(model: tfl.LayersModel, dir: string, meta: ModelMetadata): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const weights = new Uint8Array(a.weightData as ArrayBuffer);
  // weights.bin first: a reader that sees the new model.json must find matching weights.
  await writeFileAtomic(path.join(dir, 'weights.bin'), weights);
  const json = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    userDefinedMetadata: { keypoints: { ...meta, weightsSha256: sha256(weights) } },
  };
  await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
}

export interface LoadedRun {
  dir: string;
  model: tfl.LayersModel;
  config: KeypointsConfig;
  keypoints: string[];
  imageSize: number;
  meta: ModelMetadata;
  /** summary.json of the run when it has finished (best epoch, RMSE, timings, backend, reason). */
  summary?: Record<string, unknown>;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** specialists.json: a run folder made of one run folder per keypoint group (train/specialists.ts). */
export interface SpecialistsManifest {
  format: 'keypoints-specialists';
  version: 1;
  /** Every keypoint, in the data's order: the order the combined model predicts them in. */
  keypoints: string[];
  imageSize: number;
  groups: Array<{ name: string; keypoints: string[] }>;
}

export const SPECIALISTS_FILE = 'specialists.json';

/** A specialists run folder as one model: each group's network on the same input, the points in the manifest's order. */
async function loadSpecialists(dir: string, file: string): Promise<LoadedRun> {
  const m = await readJsonFile<SpecialistsManifest>(file);
  if (m.format !== 'keypoints-specialists' || !Array.isArray(m.groups) || !m.groups.length || !Array.isArray(m.keypoints)) {
    throw new InputError({ file }, 'not a specialists manifest (format keypoints-specialists with keypoints and groups)');
  }
  const parts: LoadedRun[] = [];
  try {
    for (const g of m.groups) {
      if (typeof g.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(g.name)) throw new InputError({ file, field: 'groups.name' }, `${JSON.stringify(g.name)} is not a group folder name`);
      parts.push(await loadRun(path.join(dir, g.name)));
    }
    const model = combineModels(parts, m.keypoints);
    const configFile = path.join(dir, 'config.json');
    const config = (await exists(configFile)) ? resolveConfig(await readJsonFile(configFile), configFile) : parts[0]!.config;
    const summaryFile = path.join(dir, 'summary.json');
    const summary = (await exists(summaryFile)) ? await readJsonFile(summaryFile) : undefined;
    const offsets = mergeOffsets(parts, m.keypoints);
    const meta: ModelMetadata = { keypoints: m.keypoints, imageSize: m.imageSize, preset: config.preset, epoch: Math.max(...parts.map((p) => p.meta.epoch)), valRmse: Number(summary?.bestValRmse ?? NaN), ...(offsets && { offsets }) };
    return { dir, model, config, keypoints: m.keypoints, imageSize: m.imageSize, meta, summary };
  } catch (err) {
    for (const p of parts) p.model.dispose();
    if (err instanceof Error && err.message.startsWith('combineModels:')) throw new InputError({ file }, err.message.slice('combineModels: '.length));
    throw err;
  }
}

/** The groups' offsets in the combined model's keypoint order, when every group has them. */
function mergeOffsets(parts: LoadedRun[], keypoints: string[]): OutputOffsets | undefined {
  if (!parts.every((p) => p.meta.offsets)) return undefined;
  const pick = (mode: 'flip' | 'none') =>
    keypoints.flatMap((name) => {
      const p = parts.find((q) => q.keypoints.includes(name))!;
      const k = p.keypoints.indexOf(name);
      return [p.meta.offsets![mode][2 * k]!, p.meta.offsets![mode][2 * k + 1]!];
    });
  return { flip: pick('flip'), none: pick('none'), faces: Math.min(...parts.map((p) => p.meta.offsets!.faces)) };
}

/** Loads a run folder (or a folder holding just model.json + weights.bin, or a specialists run) for predict and evaluate. */
export async function loadRun(dir: string): Promise<LoadedRun> {
  const modelFile = path.join(dir, 'model.json');
  if (!(await exists(dir))) throw new UserError(`${dir}: no such run folder`);
  if (await exists(path.join(dir, SPECIALISTS_FILE))) return loadSpecialists(dir, path.join(dir, SPECIALISTS_FILE));
  if (!(await exists(modelFile))) {
    throw new UserError(`${dir}: no model.json here (a run folder gets one after its first finished epoch)`);
  }
  let json: { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>; userDefinedMetadata?: { keypoints?: ModelMetadata } };
  try {
    json = JSON.parse(await readFile(modelFile, 'utf8'));
  } catch (err) {
    throw new InputError({ file: modelFile }, `not valid JSON (${(err as Error).message})`);
  }
  const meta = json.userDefinedMetadata?.keypoints;
  if (!meta?.keypoints?.length || !meta.imageSize) throw new InputError({ file: modelFile, field: 'userDefinedMetadata.keypoints' }, 'not a Keypoints model (no keypoint names or image size)');
  checkOffsets(meta, modelFile);
  if (!Array.isArray(json.weightsManifest)) throw new InputError({ file: modelFile, field: 'weightsManifest' }, 'missing: not a TF.js layers model');
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(
    json.weightsManifest
      .flatMap((g) => g.paths)
      .map((p) =>
        // Weight paths stay inside the run folder: `../../dev/zero` or `/etc/passwd` are refused, not read.
        resolveInside(dir, p, { file: modelFile, field: 'weightsManifest.paths' }, 'weights file').then((f) => readRegularFile(f, { file: modelFile, field: 'weightsManifest.paths' }, 'weights file')),
      ),
  );
  const data = Buffer.concat(buffers);
  if (meta.weightsSha256 && meta.weightsSha256 !== sha256(data)) {
    throw new InputError({ file: modelFile, field: 'userDefinedMetadata.keypoints.weightsSha256' }, `its weights file holds other weights (a run killed while saving its best model); resume the run (keypoints train --resume ${dir}) to rewrite both from its checkpoint`);
  }
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }),
    );
  } catch (err) {
    throw new InputError({ file: modelFile }, `cannot build the model from model.json and its weights (${(err as Error).message})`);
  }
  const configFile = path.join(dir, 'config.json');
  const config = (await exists(configFile)) ? resolveConfig(await readJsonFile(configFile), configFile) : resolveConfig({});
  const summaryFile = path.join(dir, 'summary.json');
  const summary = (await exists(summaryFile)) ? await readJsonFile(summaryFile) : undefined;
  return { dir, model, config, keypoints: meta.keypoints, imageSize: meta.imageSize, meta, summary };
}

/** Whether model.json and weights.bin belong together (false when either is missing or unreadable). */
export async function modelFilesAgree(dir: string): Promise<boolean> {
  try {
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata?: { keypoints?: ModelMetadata } };
    const want = json.userDefinedMetadata?.keypoints?.weightsSha256;
    // Folders from before the fingerprint cannot tell: taken as they are.
    return !want || want === sha256(await readFile(path.join(dir, 'weights.bin')));
  } catch {
    return false;
  }
}

/**
 * Whether model.json + weights.bin hold exactly these weights (a checkpoint's best), each tensor
 * in order as float32: false when they disagree, hold other weights, or are missing.
 */
export async function modelHolds(dir: string, weights: Float32Array[]): Promise<boolean> {
  if (!(await modelFilesAgree(dir))) return false;
  try {
    const bin = await readFile(path.join(dir, 'weights.bin'));
    return bin.equals(Buffer.concat(weights.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength))));
  } catch {
    return false;
  }
}

/** Offsets in model.json must be one finite x and y per keypoint for each TTA mode. */
function checkOffsets(meta: ModelMetadata, file: string): void {
  const o = meta.offsets;
  if (o === undefined) return;
  for (const mode of ['flip', 'none'] as const) {
    const v = o?.[mode];
    if (!Array.isArray(v) || v.length !== meta.keypoints.length * 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new InputError({ file, field: `userDefinedMetadata.keypoints.offsets.${mode}` }, `must be ${meta.keypoints.length * 2} finite numbers (x and y per keypoint)`);
    }
  }
}

/** The loaded run as the shape predict and evaluate take (raw answers; withTta adds flip averaging and its offsets). */
export function asKeypointModel(run: LoadedRun): KeypointModel {
  return { keypoints: run.keypoints, imageSize: run.imageSize, predict: (x, n) => predictOnBackend(run.model, x, n, run.imageSize), ...(run.meta.offsets && { offsets: run.meta.offsets }) };
}

export * from './checkpoint.js';

export async function readMetrics(runDir: string): Promise<EpochMetrics[]> {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!(await exists(file))) return [];
  return parseJsonLines<EpochMetrics>(file, await readFile(file, 'utf8'));
}

/** Run folders under `folder`, newest first, with what their summary.json says. */
export async function listRuns(folder: string): Promise<Array<{ dir: string; name: string; preset?: string; hasModel: boolean; bestValRmse?: number; bestEpoch?: number; epochsRun?: number; reason?: string; modified: number }>> {
  const { readdir } = await import('node:fs/promises');
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const runs = await Promise.all(
    names.map(async (name) => {
      const dir = path.resolve(folder, name);
      const hasConfig = await exists(path.join(dir, 'config.json'));
      if (!hasConfig) return undefined;
      const modelFile = [path.join(dir, 'model.json'), path.join(dir, SPECIALISTS_FILE)];
      const found = (await exists(modelFile[0]!)) ? modelFile[0] : (await exists(modelFile[1]!)) ? modelFile[1] : undefined;
      const hasModel = found !== undefined;
      const modified = (await stat(found ?? path.join(dir, 'config.json'))).mtimeMs;
      let summary: Record<string, unknown> = {};
      try {
        summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'));
      } catch {
        /* still training, or stopped before the end */
      }
      return {
        dir,
        name,
        hasModel,
        modified,
        preset: summary.preset as string | undefined,
        bestValRmse: summary.bestValRmse as number | undefined,
        bestEpoch: summary.bestEpoch as number | undefined,
        epochsRun: summary.epochsRun as number | undefined,
        reason: summary.reason as string | undefined,
      };
    }),
  );
  return runs.filter((r) => r !== undefined).sort((a, b) => b.modified - a.modified);
}
