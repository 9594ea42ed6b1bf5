/** Specialists: one network per keypoint group, each an ordinary run folder inside one run folder that loads as one model. */
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../backend/index.js';
import type { KeypointsConfig, SpecialistGroup } from '../config/schema.js';
import { resolveConfig } from '../config/resolve.js';
import { readFaceSet } from '../data/read.js';
import { isComplete, subset } from '../data/split.js';
import { syntheticFaceSet } from '../data/synthetic.js';
import type { FaceSet } from '../data/types.js';
import { InputError, UserError } from '../errors.js';
import { evaluateModel } from '../evaluate/index.js';
import { keepKeypoints } from '../evaluate/zero-shot.js';
import { writeFileAtomic } from '../util/atomic.js';
import { splitForTraining } from './data.js';
import type { TrainingEvent } from './events.js';
import { loadRun, SPECIALISTS_FILE, type SpecialistsManifest } from './run-folder.js';
import { writeSummary, type TrainSummary } from './summary.js';
import { train, type TrainOptions } from './trainer.js';
import { addBreakdowns, type TimeBreakdown } from './time-breakdown.js';

/** The classic split of Kaggle's 15 keypoints (Nouri's tutorial): parts of the face that move together. */
export const DEFAULT_SPECIALIST_GROUPS: readonly SpecialistGroup[] = [
  { name: 'eye-centres', keypoints: ['left_eye_center', 'right_eye_center'] },
  { name: 'eye-corners', keypoints: ['left_eye_inner_corner', 'left_eye_outer_corner', 'right_eye_inner_corner', 'right_eye_outer_corner'] },
  { name: 'eyebrows', keypoints: ['left_eyebrow_inner_end', 'left_eyebrow_outer_end', 'right_eyebrow_inner_end', 'right_eyebrow_outer_end'] },
  { name: 'nose', keypoints: ['nose_tip'] },
  { name: 'mouth-corners', keypoints: ['mouth_left_corner', 'mouth_right_corner'] },
  { name: 'lips', keypoints: ['mouth_center_top_lip', 'mouth_center_bottom_lip'] },
];

/** The groups for data with these keypoints: every keypoint in exactly one group, every group's keypoints in the data. */
export function specialistGroups(keypoints: readonly string[], groups: readonly SpecialistGroup[] | undefined, source: string): SpecialistGroup[] {
  const list = groups ?? DEFAULT_SPECIALIST_GROUPS;
  const where = groups ? `${source}: specialists.groups` : 'the default specialist groups (Kaggle\'s 15 keypoints; name your own in specialists.groups)';
  const seen = new Map<string, string>();
  const names = new Set<string>();
  list.forEach((g, i) => {
    if (names.has(g.name)) throw new UserError(`${where}[${i}]: the name "${g.name}" is used twice`);
    names.add(g.name);
    for (const k of g.keypoints) {
      if (!keypoints.includes(k)) throw new UserError(`${where}[${i}] (${g.name}): "${k}" is not a keypoint of the data (${keypoints.join(', ')})`);
      if (seen.has(k)) throw new UserError(`${where}[${i}] (${g.name}): "${k}" is already in group ${seen.get(k)}`);
      seen.set(k, g.name);
    }
  });
  const left = keypoints.filter((k) => !seen.has(k));
  if (left.length) throw new UserError(`${where}: ${left.join(', ')} in no group (every keypoint of the data needs one)`);
  return list.map((g) => ({ name: g.name, keypoints: [...g.keypoints] }));
}

/** A group's columns of a set, on the rows where all of them are labelled. */
export function groupRows(set: FaceSet, keypoints: readonly string[]): FaceSet {
  const cols = keepKeypoints(set, keypoints);
  const rows: number[] = [];
  for (let r = 0; r < cols.count; r++) if (isComplete(cols, r)) rows.push(r);
  return subset(cols, rows);
}

/** Copies every layer but the output from `source` into a network of the same shape (by position: layer names differ per build). */
function startFrom(source: tfl.LayersModel, dir: string): (model: tfl.LayersModel) => void {
  return (model) => {
    const a = source.layers, b = model.layers;
    const fits = a.length === b.length && b.every((l, i) => l.name === 'output' || l.getWeights().map((w) => w.shape.join('×')).join() === a[i]!.getWeights().map((w) => w.shape.join('×')).join());
    if (!fits) throw new UserError(`${dir}: its network differs from the specialists' (give --init a run trained with the same model settings and image size)`);
    b.forEach((l, i) => {
      if (l.name !== 'output' && l.getWeights().length) l.setWeights(a[i]!.getWeights());
    });
  };
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** True when the run is a specialists run: its config (a new run's, or the resumed folder's config.json) has a specialists section. */
export async function isSpecialistsTarget(opts: TrainOptions): Promise<boolean> {
  if (!opts.resume) return opts.config.specialists !== undefined;
  const saved = await readFile(path.join(opts.runDir, 'config.json'), 'utf8').catch(() => undefined);
  try {
    return saved !== undefined && (JSON.parse(saved) as { specialists?: unknown }).specialists !== undefined;
  } catch {
    return false; // train() reports the broken config.json
  }
}

/** train() for any run: specialists when the config (or the resumed folder) says so, else the one network. */
export async function trainRun(opts: TrainOptions): Promise<TrainSummary> {
  return (await isSpecialistsTarget(opts)) ? trainSpecialists(opts) : train(opts);
}

/**
 * Trains one run folder per group under runDir (runDir/<group>/, each a complete run on the same
 * train/validation split, every row that has all the group's keypoints), writes specialists.json
 * so loadRun combines them, and a summary.json scored on the whole validation split. Resume
 * skips finished groups and continues an interrupted one from its checkpoint.
 */
export async function trainSpecialists(opts: TrainOptions): Promise<TrainSummary> {
  const runDir = path.resolve(opts.runDir);
  const emit = (e: TrainingEvent) => opts.onEvent?.(e);
  const log = (message: string) => emit({ type: 'log', level: 'info', message });
  let config: KeypointsConfig;
  if (opts.resume) {
    const file = path.join(runDir, 'config.json');
    if (!(await exists(file))) throw new UserError(`${runDir}: not a run folder (no config.json to resume from)`);
    config = resolveConfig(JSON.parse(await readFile(file, 'utf8')), file);
  } else {
    if (await exists(path.join(runDir, 'config.json'))) throw new UserError(`${runDir} already holds a run; resume it with --resume ${opts.runDir}, or choose another --out`);
    config = opts.config;
  }
  const spec = config.specialists ?? {};
  const data = opts.data ?? splitForTraining(config.data.path ? await readFaceSet(config.data.path) : syntheticFaceSet({ count: config.data.syntheticCount, seed: config.seed }), config);
  const groups = specialistGroups(data.train.keypoints, spec.groups, opts.resume ? path.join(runDir, 'config.json') : 'config');
  if (spec.init && !opts.resume) await initBackend(config.backend); // loading the general run's weights needs the backend up
  const init = spec.init && !opts.resume ? await loadRun(spec.init) : undefined;
  if (init && !init.model.layers.some((l) => l.name === 'output')) {
    init.model.dispose();
    throw new InputError({ file: spec.init! }, 'not a single-network run (specialists start from a general run)');
  }
  const { specialists: _, ...groupConfig } = config;
  try {
    await mkdir(runDir, { recursive: true });
    if (!opts.resume) await writeFileAtomic(path.join(runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const manifest: SpecialistsManifest = { format: 'keypoints-specialists', version: 1, keypoints: [...data.train.keypoints], imageSize: data.train.width, groups };
    const parts: TrainSummary[] = [];
    for (const [i, g] of groups.entries()) {
      const dir = path.join(runDir, g.name);
      const finished = path.join(dir, 'summary.json');
      if (opts.resume && (await exists(finished))) {
        const s = JSON.parse(await readFile(finished, 'utf8')) as TrainSummary;
        if (s.reason !== 'stopped') {
          parts.push(s);
          continue;
        }
      }
      const part = { train: groupRows(data.train, g.keypoints), val: groupRows(data.val, g.keypoints) };
      log(`specialist ${i + 1} of ${groups.length}: ${g.name} (${g.keypoints.join(', ')}): ${part.train.count} training rows, ${part.val.count} validation rows`);
      if (!part.train.count) throw new UserError(`${data.train.source}: no training row has all of ${g.name}'s keypoints (${g.keypoints.join(', ')})`);
      const common = { signal: opts.signal, onEvent: opts.onEvent, data: part, clock: opts.clock };
      const s = (await exists(path.join(dir, 'checkpoint')))
        ? await train({ runDir: dir, resume: true, ...common })
        : await train({ runDir: dir, config: groupConfig as KeypointsConfig, ...common, initWeights: init && startFrom(init.model, spec.init!) });
      parts.push(s);
      if (s.reason === 'stopped') return s;
    }
    // The manifest last: until every group has a model, the folder is not a loadable model.
    await writeFileAtomic(path.join(runDir, SPECIALISTS_FILE), JSON.stringify(manifest, null, 2) + '\n');
    return await summarise(runDir, config, data.val, parts, groups, emit);
  } finally {
    init?.model.dispose();
  }
}

/** summary.json of the whole: the combined model scored on the whole validation split, per keypoint too. */
async function summarise(runDir: string, config: KeypointsConfig, val: FaceSet, parts: TrainSummary[], groups: SpecialistGroup[], emit: (e: TrainingEvent) => void): Promise<TrainSummary> {
  const run = await loadRun(runDir);
  let rmse = NaN;
  let perKeypoint: Record<string, { rmse: number; count: number }> = {};
  const parameters = run.model.countParams();
  try {
    if (val.count) ({ rmse, perKeypoint } = await evaluateModel(run, val, { tta: 'none' })); // as the trainer validates: one prediction
  } finally {
    run.model.dispose();
  }
  const half = val.width / 2;
  const seconds = parts.reduce((s, p) => s + p.seconds, 0);
  const times = parts.map((p) => p.timeBreakdownSeconds);
  // The groups trained one after another: their phases add up as their seconds do.
  const timeBreakdownSeconds = times.every((t) => t) ? addBreakdowns(times as TimeBreakdown[]) : undefined;
  const images = parts.reduce((s, p) => s + p.imagesPerSecond * p.seconds, 0);
  const reason = parts.find((p) => p.reason === 'diverged')?.reason ?? parts.find((p) => p.reason === 'time-limit')?.reason ?? 'completed';
  const summary: TrainSummary = {
    runDir,
    reason,
    bestEpoch: Math.max(...parts.map((p) => p.bestEpoch)),
    // The trainer's loss is the MSE of coordinates scaled to [-1, 1]: the same unit as the single model's.
    bestValLoss: (rmse / half) ** 2,
    bestValRmse: rmse,
    epochsRun: Math.max(...parts.map((p) => p.epochsRun)),
    seconds,
    ...(timeBreakdownSeconds && { timeBreakdownSeconds }),
    backend: parts[0]!.backend,
    trainCount: Math.max(...parts.map((p) => p.trainCount)),
    valCount: val.count,
    imagesPerSecond: seconds ? images / seconds : 0,
    preset: config.preset,
    plannedEpochs: Math.max(...parts.map((p) => p.plannedEpochs)),
  };
  await writeSummary(runDir, summary, { metrics: [], backendNote: `${groups.length} specialists`, keypoints: val.keypoints, parameters, flopsPerImage: 0, dataSource: val.source });
  // writeSummary knows single runs; the per-keypoint scores and the groups go beside them.
  const file = path.join(runDir, 'summary.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  json.hasModel = true;
  json.specialists = groups.map((g, i) => ({ ...g, bestValRmse: parts[i]!.bestValRmse, bestEpoch: parts[i]!.bestEpoch, trainCount: parts[i]!.trainCount }));
  json.perKeypoint = perKeypoint;
  await writeFileAtomic(file, JSON.stringify(json, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  emit({ type: 'log', level: 'info', message: `specialists combined: validation RMSE ${rmse.toFixed(3)} px on ${val.count} rows` });
  emit({ type: 'done', runDir, reason: summary.reason, bestEpoch: summary.bestEpoch, bestValLoss: summary.bestValLoss, bestValRmse: rmse, epochsRun: summary.epochsRun, seconds, ...(timeBreakdownSeconds && { timeBreakdownSeconds }) });
  return summary;
}
