/**
 * `keypoints sweep` and `compare` as real processes: bad input stops before anything is written,
 * a sweep stopped partway resumes without redoing trials, and three shards run as three processes
 * give the same comparison as the whole sweep.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

const CLI = path.resolve(import.meta.dirname, '../packages/cli/dist/keypoints.js');
const work = mkdtempSync(path.join(tmpdir(), 'kp-sweep-'));

function kp(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `keypoints …` in the background; resolves with its exit code and output. */
function kpAsync(args: string[], onStderr?: (text: string) => void) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: work });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    onStderr?.(stderr);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/** The option columns and run names of a compare --format json, timing and losses left out. */
function optionRows(stdout: string): { columns: string[]; rows: Array<[string, unknown]> } {
  const c = JSON.parse(stdout) as { columns: string[]; rows: Array<{ name: string; options: unknown; state: string }> };
  for (const r of c.rows) assert.equal(r.state, 'done', r.name);
  return { columns: c.columns, rows: c.rows.map((r) => [r.name, r.options] as [string, unknown]).sort((a, b) => a[0].localeCompare(b[0])) };
}

describe('keypoints sweep and compare as processes', () => {
  before(() => {
    assert.ok(existsSync(CLI), `build the CLI first (${CLI})`);
    // A small synthetic set: each trial trains in a few seconds.
    writeFileSync(path.join(work, 'base.keypoints.json'), JSON.stringify({ preset: 'tiny', seed: 5, data: { syntheticCount: 96 }, train: { epochs: 1 } }));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('bad input: one line naming the problem, non-zero exit, no sweep folder written', () => {
    const cases: Array<[string[], RegExp]> = [
      [['sweep', '--set', 'train.learningrate=1e-3,5e-4', '--out', 'bad1'], /unknown training option "train\.learningrate" \(did you mean "train\.learningRate"\?\)/],
      [['sweep', '--set', 'train.batchSize=', '--out', 'bad2'], /parameter "train\.batchSize" has no values/],
      [['sweep', '--set', 'train.batchSize=8,16', '--shard', '3/2', '--out', 'bad3'], /--shard 3\/2: shard 3 of 2 does not exist/],
      [['sweep', '--out', 'bad4'], /nothing to sweep/],
    ];
    for (const [args, re] of cases) {
      const r = kp(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!existsSync(path.join(work, args.at(-1)!)), `${args.at(-1)} written`);
    }
    writeFileSync(path.join(work, 'empty.sweep.json'), JSON.stringify({ parameters: { 'train.learningRate': [] } }));
    const r = kp(['sweep', 'empty.sweep.json', '--out', 'bad5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^keypoints: empty\.sweep\.json: parameter "train\.learningRate" has no values/);
  });

  test('a sweep stopped partway resumes: finished trials are kept, the interrupted one continues from its checkpoint', async () => {
    const args = ['sweep', '--config', 'base.keypoints.json', '--set', 'train.learningRate=0.003,0.001,0.0003', '--epochs', '6', '--parallel', '1', '--out', 'resumable'];
    const dir = (i: number) => path.join(work, 'resumable', ['01_learningRate=0.003', '02_learningRate=0.001', '03_learningRate=0.0003'][i]!);
    // Stop (SIGINT, as Ctrl-C or a scheduler would) once the second trial has checkpointed an epoch.
    const first = kpAsync(args);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(path.join(dir(1), 'checkpoint', 'state.json'))) {
          clearInterval(poll);
          first.child.kill('SIGINT');
          resolve();
        }
      }, 50);
    });
    const r1 = await first.done;
    assert.equal(r1.code, 130, r1.stderr);
    assert.match(r1.stderr, /02_learningRate=0\.001: stopped; it resumes/);
    assert.ok(existsSync(path.join(dir(0), 'summary.json')));
    assert.ok(!existsSync(path.join(dir(2))), 'the third trial never started');
    const firstSummary = statSync(path.join(dir(0), 'summary.json')).mtimeMs;
    const stoppedEpochs = readFileSync(path.join(dir(1), 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    assert.ok(stoppedEpochs < 6, `stopped after ${stoppedEpochs} epochs`);

    const r2 = await kpAsync(args).done;
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /1 already done, 1 to resume, 1 to start/);
    assert.match(r2.stderr, /02_learningRate=0\.001: resuming from its checkpoint/);
    assert.doesNotMatch(r2.stderr, /01_learningRate=0\.003: training/);
    assert.equal(statSync(path.join(dir(0), 'summary.json')).mtimeMs, firstSummary, 'the finished trial was not redone');
    const epochs = readFileSync(path.join(dir(1), 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { epoch: number }).epoch);
    assert.deepEqual(epochs, [1, 2, 3, 4, 5, 6], 'the resumed trial continued, not restarted');
    const cmp = kp(['compare', 'resumable', '--format', 'json']);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.deepEqual(optionRows(cmp.stdout).columns, ['train.learningRate']);
  });

  test('three shards as three processes give, after compare, the table of the whole sweep', async () => {
    const sweep = ['--config', 'base.keypoints.json', '--set', 'train.learningRate=0.003,0.001', '--set', 'train.batchSize=16,32,48'];
    const shards = await Promise.all([1, 2, 3].map((i) => kpAsync(['sweep', ...sweep, '--shard', `${i}/3`, '--parallel', '1', '--out', `shard-${i}`]).done));
    shards.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`shard ${i + 1}/3: 2 of 6 trials`));
    });
    const whole = kp(['sweep', ...sweep, '--parallel', '2', '--out', 'whole']);
    assert.equal(whole.code, 0, whole.stderr);
    const merged = kp(['compare', 'shard-1', 'shard-2', 'shard-3', '--format', 'json', '--html', 'compare.html']);
    assert.equal(merged.code, 0, merged.stderr);
    const one = kp(['compare', 'whole', '--format', 'json']);
    const a = optionRows(merged.stdout), b = optionRows(one.stdout);
    assert.equal(a.rows.length, 6);
    assert.deepEqual(a, b);
    assert.deepEqual(a.columns, ['train.batchSize', 'train.learningRate']);
    const html = readFileSync(path.join(work, 'compare.html'), 'utf8');
    assert.match(html, /Plotly\.newPlot\('rmse'/);
    for (const [name] of a.rows) assert.ok(html.includes(name), name);
    const md = kp(['compare', 'whole', '--format', 'md']).stdout.split('\n');
    assert.match(md[0]!, /^\| run \| batchSize \| learningRate \| best val loss \| val RMSE px \|/);
    assert.equal(md.filter((l) => l.startsWith('| 0')).length, 6);
  });
});
