/**
 * checkpoint/: what `--resume` continues from. Each tensor list is stored once: the best weights are
 * the run's own weights.bin when they are byte-identical to it, and the current weights share a
 * file with the best ones when they are the same. A finished run keeps no optimizer state.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, UserError } from '../errors.js';
import { writeStep } from '../util/atomic.js';
import { readJsonFile } from '../util/json-file.js';
import { readRegularFile } from '../util/paths.js';

/** Where one tensor list lies, relative to the checkpoint folder, and its SHA-256 (checked on load). */
export interface StoredTensors {
  file: 'weights.bin' | 'best.bin' | 'optimizer.bin' | 'ema.bin' | '../weights.bin';
  sha256: string;
}

export interface CheckpointState {
  version: 1 | 2 | 3 | 4;
  epoch: number; // epochs completed
  step: number; // optimisation steps taken
  plannedEpochs: number;
  /** Version 3: the plan was fitted to the time limit (once per run; see train/plan.ts). */
  planFixed?: boolean;
  /** Epoch and elapsed seconds when the plan was fitted: the speed since then decides whether a run is late. */
  planEpoch?: number;
  planSeconds?: number;
  elapsedSeconds: number;
  /** How elapsedSeconds split into phases (train/time-breakdown.ts); only the four measured ones are read back. */
  timeBreakdownSeconds?: Partial<Record<'batch' | 'step' | 'validate' | 'save' | 'other', unknown>>;
  bestValLoss: number;
  bestEpoch: number;
  sinceBest: number;
  /** Shapes of the tensors in each list, in order, to check them on load. */
  shapes: { weights: number[][]; best: number[][]; optimizer: number[][]; ema?: number[][] };
  optimizer: string;
  optimizerStep: number;
  /**
   * Version 2: where a stop or time limit cut epoch `epoch + 1`, so resume continues mid-epoch
   * exactly (0 = at an epoch boundary). The epoch's shuffle is re-derived from the seed; the
   * augmentation RNG and the running epoch totals are stored.
   */
  batch?: number;
  augRng?: number[];
  epochLossSum?: number;
  epochImages?: number;
  epochSeconds?: number;
  /** Divergence detector (smoothed training loss and its minimum); null when not yet defined. */
  emaLoss?: number | null;
  minEma?: number | null;
  /**
   * Version 4: where each list is stored (versions 1–3: weights.bin, best.bin, optimizer.bin).
   * best null: no best yet; optimizer null: dropped when the run finished (resume then restarts
   * the optimizer's moments).
   */
  files?: { weights: StoredTensors; best: StoredTensors | null; optimizer: StoredTensors | null; ema?: StoredTensors };
}

export interface Checkpoint {
  state: CheckpointState;
  weights: Float32Array[];
  best: Float32Array[];
  /** Empty when the checkpoint holds no optimizer state (a finished run's). */
  optimizer: Float32Array[];
  /** train.ema's weight average, when the run keeps one (stored like the weights, once). */
  ema?: Float32Array[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function pack(arrays: Float32Array[]): Uint8Array {
  const total = arrays.reduce((s, a) => s + a.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return new Uint8Array(out.buffer);
}

function unpack(bytes: Buffer, shapes: number[][], file: string): Float32Array[] {
  if (bytes.byteLength % 4 !== 0) throw new InputError({ file }, `${bytes.byteLength} bytes is not a whole number of 32-bit floats: the checkpoint is damaged`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  if (sizes.reduce((a, b) => a + b, 0) !== all.length) throw new InputError({ file }, `holds ${all.length} values, the checkpoint's state expects ${sizes.reduce((a, b) => a + b, 0)}`);
  let o = 0;
  return sizes.map((n) => all.slice(o, (o += n)));
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Writes the checkpoint folder atomically: everything goes into a fresh temp folder, which then
 * replaces the old one by renames. A crash leaves either the old checkpoint or the new one
 * (`checkpoint.old` is picked up on load if the swap was cut between its two renames).
 *
 * The best weights are not written again when the run's weights.bin holds them byte for byte: the
 * trainer writes a new best into the checkpoint before it replaces weights.bin, so a checkpoint
 * that points at weights.bin is never left pointing at other weights by a kill.
 * `dropOptimizer`: a finished run's checkpoint (its optimizer state is twice the weights' size).
 */
export async function saveCheckpoint(runDir: string, ck: Checkpoint, opts: { dropOptimizer?: boolean } = {}): Promise<void> {
  const final = path.join(runDir, 'checkpoint');
  const tmp = path.join(runDir, `checkpoint.tmp-${process.pid}`);
  const old = path.join(runDir, 'checkpoint.old');
  const topFile = path.join(runDir, 'weights.bin');
  const topSha = (await exists(topFile)) ? sha256(await readFile(topFile)) : undefined;
  const files: [string, Uint8Array][] = [];
  const store = (bytes: Uint8Array, name: 'weights.bin' | 'best.bin' | 'optimizer.bin' | 'ema.bin', same: StoredTensors[]): StoredTensors => {
    const sha = sha256(bytes);
    if (sha === topSha) return { file: '../weights.bin', sha256: sha };
    const twin = same.find((s) => s.sha256 === sha);
    if (twin) return twin;
    files.push([name, bytes]);
    return { file: name, sha256: sha };
  };
  const weights = store(pack(ck.weights), 'weights.bin', []);
  const best = ck.best.length ? store(pack(ck.best), 'best.bin', [weights]) : null;
  const optimizer = opts.dropOptimizer ? null : store(pack(ck.optimizer), 'optimizer.bin', []);
  // The average is what validation scored, so it is often the best weights byte for byte.
  const ema = ck.ema ? store(pack(ck.ema), 'ema.bin', [weights, ...(best ? [best] : [])]) : undefined;
  const state: CheckpointState = { ...ck.state, version: 4, shapes: { ...ck.state.shapes, optimizer: optimizer ? ck.state.shapes.optimizer : [] }, files: { weights, best, optimizer, ...(ema && { ema }) } };
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const [name, data] of [...files, ['state.json', JSON.stringify(state, null, 1)] as [string, string]]) {
    writeStep();
    await writeFile(path.join(tmp, name), data);
  }
  await rm(old, { recursive: true, force: true });
  writeStep();
  if (await exists(final)) await rename(final, old);
  writeStep();
  await rename(tmp, final);
  await rm(old, { recursive: true, force: true });
}

/** Whether the run folder holds a checkpoint to resume from (`checkpoint/`, or `checkpoint.old/` after a swap cut half way). */
export async function hasCheckpoint(runDir: string): Promise<boolean> {
  return (await exists(path.join(runDir, 'checkpoint', 'state.json'))) || (await exists(path.join(runDir, 'checkpoint.old', 'state.json')));
}

const STORED = new Set(['weights.bin', 'best.bin', 'optimizer.bin', 'ema.bin', '../weights.bin']);

export async function loadCheckpoint(runDir: string): Promise<Checkpoint> {
  let dir = path.join(runDir, 'checkpoint');
  if (!(await exists(path.join(dir, 'state.json')))) {
    const old = path.join(runDir, 'checkpoint.old');
    if (await exists(path.join(old, 'state.json'))) dir = old;
    else throw new UserError(`${runDir}: no checkpoint to resume from (expected ${path.join(runDir, 'checkpoint', 'state.json')})`);
  }
  const stateFile = path.join(dir, 'state.json');
  const state = await readJsonFile<CheckpointState>(stateFile);
  // JSON has no Infinity: a checkpoint taken before the first validation stores null.
  if (state.bestValLoss === null || state.bestValLoss === undefined) state.bestValLoss = Infinity;
  const shapes = state.shapes as Partial<CheckpointState['shapes']> | undefined;
  for (const k of ['weights', 'best', 'optimizer'] as const) {
    const ok = Array.isArray(shapes?.[k]) && shapes[k]!.every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0));
    if (!ok) throw new InputError({ file: stateFile, field: `shapes.${k}` }, 'missing or not a list of tensor shapes: the checkpoint is damaged');
  }
  // Versions 1–3 wrote every list into its own file.
  const hasEma = Array.isArray(state.shapes.ema);
  const where = state.files ?? { weights: { file: 'weights.bin' }, best: { file: 'best.bin' }, optimizer: { file: 'optimizer.bin' }, ...(hasEma && { ema: { file: 'ema.bin' } }) };
  const read = async (k: 'weights' | 'best' | 'optimizer' | 'ema'): Promise<Float32Array[]> => {
    const s = where[k] as Partial<StoredTensors> | null | undefined;
    if (s === null) return [];
    if (!s || typeof s.file !== 'string' || !STORED.has(s.file)) throw new InputError({ file: stateFile, field: `files.${k}` }, 'not one of the checkpoint\'s files: the checkpoint is damaged');
    const file = path.join(dir, s.file);
    const bytes = await readRegularFile(file);
    if (s.sha256 !== undefined && sha256(bytes) !== s.sha256) {
      const why = s.file === '../weights.bin' ? 'the run\'s weights.bin was replaced after this checkpoint, which keeps its best weights there' : 'the checkpoint is damaged';
      throw new InputError({ file, field: `checkpoint files.${k}` }, `holds other bytes than the checkpoint recorded (SHA-256 differs): ${why}`);
    }
    return unpack(bytes, state.shapes[k]!, file);
  };
  const ema = hasEma && where.ema ? await read('ema') : undefined;
  return { state, weights: await read('weights'), best: await read('best'), optimizer: await read('optimizer'), ...(ema && { ema }) };
}

/** Whether the checkpoint kept its optimizer state (a finished run's does not). */
export const hasOptimizerState = (ck: Checkpoint): boolean => ck.state.files?.optimizer !== null;
