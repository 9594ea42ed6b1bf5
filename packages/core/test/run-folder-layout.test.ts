// The run folder's layout: one copy of the weights in a finished run (no optimizer state), the
// optimizer kept while a run can resume, results.csv and val-faces.png, and folders written in the
// old layout (checkpoint version 3: weights.bin, best.bin, optimizer.bin) still resume exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../src/backend/index.ts';
import { resolveConfig } from '../src/config/resolve.ts';
import { decodeImage } from '../src/data/image.ts';
import { splitIndices, subset } from '../src/data/split.ts';
import { syntheticFaceSet } from '../src/data/synthetic.ts';
import type { TrainingEvent } from '../src/train/events.ts';
import { loadCheckpoint, loadRun, readMetrics } from '../src/train/run-folder.ts';
import { train } from '../src/train/trainer.ts';

const root = mkdtempSync(path.join(tmpdir(), 'kp-layout-'));
after(() => rmSync(root, { recursive: true, force: true }));
before(async () => {
  await initBackend('wasm');
});

const data = () => {
  const all = syntheticFaceSet({ count: 120, seed: 8, size: 32 });
  const sp = splitIndices(all.count, 0.2, 1);
  return { train: subset(all, sp.train), val: subset(all, sp.val) };
};
const config = (epochs = 3) => resolveConfig({ preset: 'tiny', backend: 'wasm', seed: 9, model: { conv: [{ filters: 8, kernel: 3, batchNorm: true }], dense: [16] }, train: { epochs, batchSize: 16 } });
/** Stops before the nth batch check (the trainer reads `aborted` once per batch). */
const stopAfter = (n: number) => {
  let checks = 0;
  return { get aborted() { return ++checks > n; } } as unknown as AbortSignal;
};
const bins = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.bin')).sort();
const bytes = (l: Float32Array[]) => Buffer.concat(l.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));

/** Rewrites a checkpoint as version 3 wrote it: each list in its own file, no `files`. */
async function toVersion3(dir: string): Promise<void> {
  const ck = await loadCheckpoint(dir);
  const c = path.join(dir, 'checkpoint');
  rmSync(c, { recursive: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(c);
  const { files: _files, ...state } = ck.state;
  await writeFile(path.join(c, 'weights.bin'), bytes(ck.weights));
  await writeFile(path.join(c, 'best.bin'), bytes(ck.best));
  await writeFile(path.join(c, 'optimizer.bin'), bytes(ck.optimizer));
  await writeFile(path.join(c, 'state.json'), JSON.stringify({ ...state, version: 3 }));
}

describe('run folder layout', () => {
  it('a finished run holds one copy of its weights, results.csv, curves and val-faces.png', async () => {
    const dir = path.join(root, 'done');
    await train({ config: config(), runDir: dir, data: data() });
    assert.deepEqual(bins(dir), ['weights.bin'], 'the checkpoint points at weights.bin rather than copying it, and keeps no optimizer state');
    const ck = await loadCheckpoint(dir);
    assert.equal(ck.state.version, 4);
    assert.equal(ck.optimizer.length, 0);
    assert.ok(ck.weights.length > 0 && ck.best.length === ck.weights.length);

    const metrics = await readMetrics(dir);
    const csv = readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'epoch,train_loss,val_loss,val_rmse_px,learning_rate,seconds,images_per_second,elapsed_seconds,best');
    assert.equal(csv.length, metrics.length + 1);
    const row = csv[2]!.split(',');
    assert.equal(Number(row[0]), 2);
    assert.ok(Math.abs(Number(row[3]) - metrics[1]!.valRmse) < 1e-5 * metrics[1]!.valRmse, `${row[3]} vs ${metrics[1]!.valRmse}`);

    const html = readFileSync(path.join(dir, 'curves.html'), 'utf8');
    assert.match(html, /<svg[\s\S]*Validation RMSE/);
    assert.doesNotMatch(html, /<script/, 'no script: the page opens offline and stays small');
    assert.ok(statSync(path.join(dir, 'curves.html')).size < 100_000);

    // 16 faces (24 validation rows here) of 32 px drawn at 64 px, 4 to a row.
    const png = decodeImage(readFileSync(path.join(dir, 'val-faces.png')), 'val-faces.png');
    assert.equal(png.width, 4 * (64 + 6) + 6);
    assert.ok(png.height > 4 * 64);
  });

  it('a stopped run keeps the optimizer state and resumes to the uninterrupted weights, bit for bit', async () => {
    const full = path.join(root, 'full'), cut = path.join(root, 'cut');
    await train({ config: config(), runDir: full, data: data() });
    assert.equal((await train({ config: config(), runDir: cut, data: data(), signal: stopAfter(8) })).reason, 'stopped');
    const ck = await loadCheckpoint(cut);
    assert.ok(ck.optimizer.length > 0);
    assert.ok(ck.state.batch! > 0, 'cut mid-epoch');
    // The best weights (epoch 1) are weights.bin's: stored once.
    assert.equal(ck.state.files?.best?.file, '../weights.bin');
    assert.deepEqual(bins(cut), ['checkpoint/optimizer.bin', 'checkpoint/weights.bin', 'weights.bin']);
    await train({ runDir: cut, data: data(), resume: true });
    assert.ok(readFileSync(path.join(cut, 'weights.bin')).equals(readFileSync(path.join(full, 'weights.bin'))));
    assert.ok(bytes((await loadCheckpoint(cut)).weights).equals(bytes((await loadCheckpoint(full)).weights)));
  });

  it('a folder in the old layout (checkpoint version 3) resumes exactly, then loads', async () => {
    const full = path.join(root, 'full3'), old = path.join(root, 'old3');
    await train({ config: config(), runDir: full, data: data() });
    await train({ config: config(), runDir: old, data: data(), signal: stopAfter(8) });
    await toVersion3(old);
    assert.deepEqual(bins(old), ['checkpoint/best.bin', 'checkpoint/optimizer.bin', 'checkpoint/weights.bin', 'weights.bin']);
    await train({ runDir: old, data: data(), resume: true });
    assert.ok(bytes((await loadCheckpoint(old)).weights).equals(bytes((await loadCheckpoint(full)).weights)));
    const run = await loadRun(old);
    assert.equal(run.meta.epoch, (await loadRun(full)).meta.epoch);
    assert.deepEqual(bins(old), ['weights.bin'], 'rewritten in the new layout once finished');
  });

  it('a finished run trains on from its weights when config.json asks for more epochs, with a warning', async () => {
    const dir = path.join(root, 'more');
    await train({ config: config(2), runDir: dir, data: data() });
    const file = path.join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    cfg.train.epochs = 3;
    await writeFile(file, JSON.stringify(cfg));
    const events: TrainingEvent[] = [];
    const s = await train({ runDir: dir, data: data(), resume: true, onEvent: (e) => events.push(e) });
    assert.equal(s.epochsRun, 3);
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /keeps no optimizer state/.test(e.message)));
    assert.equal((await readMetrics(dir)).length, 3);
  });
});
