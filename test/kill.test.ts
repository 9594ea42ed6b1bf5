// kill -9 at a seeded sample of the file writes of a short run, then --resume (or the same command
// again when the kill came before config.json): no metrics line lost, no stuck folder, no temp file
// left, the best model intact and equal to the uninterrupted run's. SIGTERM / SIGHUP checkpoint like Ctrl-C.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { syntheticFaceSet, writeKaggleCsv } from '../packages/core/src/index.ts';
import { isTempName, KILL_AT_WRITE_ENV } from '../packages/core/src/util/atomic.ts';
import { createRng } from '../packages/core/src/util/random.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
const work = mkdtempSync(path.join(tmpdir(), 'kp-kill-'));
const ARGS = ['train', '--data', 'faces.csv.gz', '--preset', 'tiny', '--epochs', '2', '--batch-size', '16', '--seed', '4', '--json'];

function kp(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const metricEpochs = (dir: string) => readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { epoch: number }).epoch);
const modelEpoch = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata: { keypoints: { epoch: number } } }).userDefinedMetadata.keypoints.epoch;

describe('kill -9 anywhere in a run, then resume', () => {
  after(() => rmSync(work, { recursive: true, force: true }));
  before(async () => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    await writeKaggleCsv(syntheticFaceSet({ count: 60, seed: 31 }), path.join(work, 'faces.csv.gz'));
  });

  test('a seeded sample of kill points: every folder resumes to the uninterrupted result', () => {
    const full = kp([...ARGS, '--out', 'full']);
    assert.equal(full.code, 0, full.stderr);
    const best = JSON.parse(readFileSync(path.join(work, 'full', 'summary.json'), 'utf8')) as { bestEpoch: number };
    // Write steps of the whole run (config, model, metrics, checkpoints, curves, summary): about 50.
    const rng = createRng(20261203);
    const sample = [1, 3, ...Array.from({ length: 6 }, () => 4 + Math.floor(rng.next() * 50))];
    let killed = 0;
    for (const at of sample) {
      const dir = `k${at}`;
      const r = kp([...ARGS, '--out', dir], { [KILL_AT_WRITE_ENV]: String(at) });
      if (r.signal !== 'SIGKILL') {
        assert.equal(r.code, 0, `kill point ${at}: ${r.stderr}`);
        continue; // past the run's last write
      }
      killed++;
      // Before config.json the folder is not a run yet: the same command takes it (temp files aside).
      const again = existsSync(path.join(work, dir, 'config.json')) ? kp(['train', '--resume', dir, '--json']) : kp([...ARGS, '--out', dir]);
      assert.equal(again.code, 0, `kill point ${at}: ${again.stderr}`);
      const d = path.join(work, dir);
      assert.deepEqual(metricEpochs(d), [1, 2], `kill point ${at}: metrics.jsonl`);
      assert.equal(modelEpoch(d), best.bestEpoch, `kill point ${at}: model.json is the best epoch's`);
      assert.ok(readFileSync(path.join(d, 'weights.bin')).equals(readFileSync(path.join(work, 'full', 'weights.bin'))), `kill point ${at}: the best weights equal the uninterrupted run's`);
      assert.deepEqual(readdirSync(d).filter((n) => isTempName(n) || n === 'checkpoint.old'), [], `kill point ${at}: temp files left`);
      assert.ok(existsSync(path.join(d, 'summary.json')), `kill point ${at}: summary.json`);
    }
    assert.ok(killed >= 5, `only ${killed} of the sampled points killed the run`);
  });

  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${sig} mid-run saves a checkpoint like Ctrl-C (exit 130), and --resume finishes the run`, async () => {
      const dir = `sig-${sig}`;
      const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, ...ARGS, '--epochs', '3', '--out', dir], { cwd: work });
        let buf = '', sent = false;
        child.stdout.on('data', (d: Buffer) => {
          buf += d;
          if (!sent && /"type":"batchEnd"/.test(buf)) {
            sent = true;
            child.kill(sig);
          }
        });
        child.on('exit', (c) => resolve({ code: c, stdout: buf }));
      });
      assert.equal(code, 130, stdout.slice(-500));
      assert.match(stdout.trim().split('\n').at(-1)!, /"type":"done".*"reason":"stopped"/);
      assert.ok(existsSync(path.join(work, dir, 'checkpoint', 'state.json')));
      const r = kp(['train', '--resume', dir, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(metricEpochs(path.join(work, dir)), [1, 2, 3]);
    });
  }
});
