import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { UserError } from '../src/errors.ts';
import {
  compareHtml,
  compareRuns,
  compareSvg,
  expandSweep,
  findRuns,
  formatComparison,
  loadSweepFile,
  parseShard,
  parseSweepSpec,
  resolveShard,
  runSweep,
  selectShard,
  shardFromEnv,
  sweepFromSets,
  sweepJsonSchema,
  trialStatus,
} from '../src/experiments/index.ts';

const work = mkdtempSync(path.join(tmpdir(), 'kp-experiments-'));

/** Asserts `fn` throws a UserError whose one-line message matches `re`. */
async function rejectsOneLine(fn: () => unknown, re: RegExp): Promise<void> {
  await assert.rejects(async () => fn(), (err: Error) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return true;
  });
}

describe('sweep expansion', () => {
  test('a grid is every combination, the last parameter varying fastest, with readable stable ids', () => {
    const spec = sweepFromSets(['train.learningRate=1e-3,5e-4', 'train.schedule.decayRate=0.95,0.98,0.99']);
    const trials = expandSweep(spec, { preset: 'seed', train: { epochs: 2 } });
    assert.equal(trials.length, 6);
    assert.deepEqual(trials.map((t) => [t.config.train.learningRate, t.config.train.schedule.decayRate]), [
      [1e-3, 0.95], [1e-3, 0.98], [1e-3, 0.99], [5e-4, 0.95], [5e-4, 0.98], [5e-4, 0.99],
    ]);
    assert.equal(trials[4]!.id, '05_learningRate=0.0005_decayRate=0.98');
    assert.equal(new Set(trials.map((t) => t.id)).size, 6);
    // Shared settings reach every trial; the preset's own values stay where the sweep sets nothing.
    for (const t of trials) {
      assert.equal(t.config.train.epochs, 2);
      assert.equal(t.config.preset, 'seed');
      assert.equal(t.config.train.batchSize, 64);
      assert.equal(t.config.train.schedule.type, 'exponential');
    }
    assert.deepEqual(expandSweep(spec, { preset: 'seed' }).map((t) => t.id), trials.map((t) => t.id), 'ids do not depend on shared settings');
  });

  test('random search draws the same trials for the same seed, others for another, inside the ranges', () => {
    const spec = (seed: number) =>
      parseSweepSpec({ method: 'random', trials: 8, seed, parameters: { 'train.learningRate': { min: 1e-4, max: 1e-2, log: true }, 'train.batchSize': [16, 32, 64], 'model.dropout': { min: 0, max: 0.5 } } }, 'r.sweep.json');
    const a = expandSweep(spec(1)), b = expandSweep(spec(1)), c = expandSweep(spec(2));
    assert.equal(a.length, 8);
    assert.deepEqual(a.map((t) => t.params), b.map((t) => t.params));
    assert.notDeepEqual(a.map((t) => t.params), c.map((t) => t.params));
    for (const t of a) {
      const lr = t.params['train.learningRate'] as number;
      assert.ok(lr >= 1e-4 && lr <= 1e-2, `lr ${lr}`);
      assert.ok([16, 32, 64].includes(t.params['train.batchSize'] as number));
      assert.equal(t.config.model.dropout, t.params['model.dropout']);
    }
    assert.equal(new Set(a.map((t) => JSON.stringify(t.params))).size, 8, 'no trial drawn twice');
    // Log-uniform: over many draws about half fall below the geometric middle (1e-3).
    const many = expandSweep(parseSweepSpec({ method: 'random', trials: 200, seed: 3, parameters: { 'train.learningRate': { min: 1e-4, max: 1e-2, log: true } } }, 'x'));
    const below = many.filter((t) => (t.params['train.learningRate'] as number) < 1e-3).length;
    assert.ok(below > 70 && below < 130, `${below} of 200 below 1e-3`);
  });

  test('a random search over a space smaller than `trials` stops at the distinct combinations', () => {
    const trials = expandSweep(parseSweepSpec({ method: 'random', trials: 10, parameters: { 'train.batchSize': [16, 32] } }, 'x'));
    assert.deepEqual(trials.map((t) => t.params['train.batchSize']).sort(), [16, 32]);
  });

  test('bad specs: unknown option, empty grid, no parameters, a range in a grid, a bad value', async () => {
    await rejectsOneLine(() => sweepFromSets(['train.learningrate=1,2']), /unknown training option "train\.learningrate" \(did you mean "train\.learningRate"\?\)/);
    await rejectsOneLine(() => parseSweepSpec({ parameters: { 'train.foo': [1] } }, 'my.sweep.json'), /^my\.sweep\.json: unknown training option "train\.foo"/);
    await rejectsOneLine(() => parseSweepSpec({ parameters: { 'train.schedule': [{}] } }, 'a'), /"train\.schedule" is a section/);
    await rejectsOneLine(() => parseSweepSpec({ parameters: { 'train.batchSize': [] } }, 'a'), /parameter "train\.batchSize" has no values/);
    await rejectsOneLine(() => parseSweepSpec({ parameters: {} }, 'a'), /"parameters" is empty/);
    await rejectsOneLine(() => parseSweepSpec({ parameters: { 'train.learningRate': { min: 1, max: 2 } } }, 'a'), /a grid needs a list/);
    await rejectsOneLine(() => parseSweepSpec({ method: 'random', parameters: { 'train.learningRate': [1] } }, 'a'), /needs "trials"/);
    await rejectsOneLine(() => parseSweepSpec({ parameters: { 'train.batchSize': [1] }, extra: 1 }, 'a'), /^a: field "\(root\)"/);
    await rejectsOneLine(() => expandSweep(sweepFromSets(['train.batchSize=32,0'])), /trial 02_batchSize=0: field "train\.batchSize"/);
    await rejectsOneLine(() => sweepFromSets(['learningRate']), /expected option=value1,value2/);
    await rejectsOneLine(() => sweepFromSets(['model.dense=[[64],[128]']), /not a valid JSON list/);
    assert.deepEqual(expandSweep(sweepFromSets(['model.dense=[[64],[128,32]]'])).map((t) => t.config.model.dense), [[64], [128, 32]]);
  });

  test('a sweep file: its config path is relative to it, base overrides it; the JSON Schema completes option names', async () => {
    mkdirSync(path.join(work, 'sw'), { recursive: true });
    writeFileSync(path.join(work, 'sw', 'base.keypoints.json'), JSON.stringify({ preset: 'tiny', train: { epochs: 3, batchSize: 8 } }));
    writeFileSync(path.join(work, 'sw', 'lr.sweep.json'), JSON.stringify({ config: 'base.keypoints.json', base: { train: { epochs: 2 } }, parameters: { 'train.learningRate': [0.01, 0.001] } }));
    const { spec, base } = await loadSweepFile(path.join(work, 'sw', 'lr.sweep.json'));
    const trials = expandSweep(spec, base);
    assert.deepEqual(trials.map((t) => [t.config.preset, t.config.train.epochs, t.config.train.batchSize, t.config.train.learningRate]), [['tiny', 2, 8, 0.01], ['tiny', 2, 8, 0.001]]);
    await rejectsOneLine(() => loadSweepFile(path.join(work, 'sw', 'missing.sweep.json')), /missing\.sweep\.json: cannot read/);
    const schema = sweepJsonSchema() as { properties: Record<string, { propertyNames?: { enum: string[] }; properties?: Record<string, unknown> }> };
    assert.ok(schema.properties.parameters!.propertyNames!.enum.includes('train.schedule.decayRate'));
    assert.ok(schema.properties.base!.properties!.train, 'base is a config');
  });
});

describe('shards', () => {
  const items = Array.from({ length: 11 }, (_, i) => i);
  test('every trial lands in exactly one shard, shards differ in size by at most one', () => {
    for (let n = 1; n <= 5; n++) {
      const parts = Array.from({ length: n }, (_, i) => selectShard(items, parseShard(`${i + 1}/${n}`)));
      assert.deepEqual(parts.flat().sort((a, b) => a - b), items, `n = ${n}`);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
    assert.deepEqual(selectShard(items, parseShard('2/3')), [1, 4, 7, 10]);
  });

  test('auto: each engine\'s job-array variables give the same split as i/n', () => {
    const envs: Array<(k: number, n: number) => Record<string, string>> = [
      (k, n) => ({ CI_NODE_INDEX: String(k + 1), CI_NODE_TOTAL: String(n) }), // GitLab, 1-based
      (k, n) => ({ SLURM_ARRAY_TASK_ID: String(k + 5), SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_COUNT: String(n) }), // --array=5-7
      (k, n) => ({ SLURM_ARRAY_TASK_ID: String(2 * k), SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: String(n) }), // --array=0-4:2
      (k, n) => ({ JOB_COMPLETION_INDEX: String(k), KEYPOINTS_SHARD_COUNT: String(n) }), // Kubernetes
      (k, n) => ({ AWS_BATCH_JOB_ARRAY_INDEX: String(k), KEYPOINTS_SHARD_COUNT: String(n) }),
      (k, n) => ({ KEYPOINTS_SHARD: `${k + 1}/${n}` }),
    ];
    for (const env of envs) {
      const parts = [0, 1, 2].map((k) => selectShard(items, resolveShard('auto', env(k, 3))));
      assert.deepEqual(parts, [0, 1, 2].map((k) => selectShard(items, parseShard(`${k + 1}/3`))), JSON.stringify(env(0, 3)));
    }
    assert.equal(shardFromEnv({ JOB_COMPLETION_INDEX: '1' }, 4).total, 4, 'the count from --shard-count');
  });

  test('bad shards are one-line errors', async () => {
    await rejectsOneLine(() => parseShard('3/2'), /--shard 3\/2: shard 3 of 2 does not exist/);
    await rejectsOneLine(() => parseShard('0/2'), /shard 0 of 2 does not exist/);
    await rejectsOneLine(() => parseShard('1/0'), /count must be at least 1/);
    await rejectsOneLine(() => parseShard('two'), /expected i\/n/);
    await rejectsOneLine(() => resolveShard('auto', {}), /no job-array variables found/);
    await rejectsOneLine(() => resolveShard('auto', { GITHUB_ACTIONS: 'true' }), /matrix/);
    await rejectsOneLine(() => resolveShard('auto', { JOB_COMPLETION_INDEX: '0' }), /--shard-count N or set KEYPOINTS_SHARD_COUNT/);
    await rejectsOneLine(() => resolveShard('auto', { CI_NODE_INDEX: '3', CI_NODE_TOTAL: '2' }), /shard 3 of 2/);
    assert.equal(resolveShard(undefined, {}), undefined);
  });
});

/** A finished (or stopped/unfinished) run folder as the trainer writes it. */
function fakeRun(dir: string, o: { train?: Record<string, unknown>; rmse?: number; summary?: boolean; checkpoint?: boolean; reason?: string }): void {
  mkdirSync(dir, { recursive: true });
  const config = { preset: 'tiny', seed: 42, data: { validation: 0.1 }, model: { conv: [{ filters: 8 }], dense: [32] }, train: { epochs: 2, batchSize: 32, learningRate: 0.003, ...o.train } };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const rmse = o.rmse ?? 3;
  const m = (epoch: number, r: number) => ({ epoch, epochs: 2, trainLoss: 0.02, valLoss: (r / 48) ** 2, valRmse: r, learningRate: 0.003, seconds: 1, imagesPerSecond: 100, elapsedSeconds: epoch * 1.5, best: true });
  writeFileSync(path.join(dir, 'metrics.jsonl'), [m(1, rmse + 1), m(2, rmse)].map((x) => JSON.stringify(x)).join('\n') + '\n');
  if (o.checkpoint) {
    mkdirSync(path.join(dir, 'checkpoint'), { recursive: true });
    writeFileSync(path.join(dir, 'checkpoint', 'state.json'), '{}');
  }
  if (o.summary !== false) {
    writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ reason: o.reason ?? 'completed', bestEpoch: 2, bestValLoss: (rmse / 48) ** 2, bestValRmse: rmse, epochsRun: 2, seconds: 3, minutes: 0.05, imagesPerSecond: 120 }));
  }
}

describe('compare', () => {
  test('columns are the options that differ, and only those; rows sorted by RMSE', async () => {
    const root = path.join(work, 'cmp');
    fakeRun(path.join(root, 'sweep', 'a'), { train: { learningRate: 0.01 }, rmse: 4 });
    fakeRun(path.join(root, 'sweep', 'b'), { train: { learningRate: 0.001 }, rmse: 2.5 });
    fakeRun(path.join(root, 'c'), { train: { learningRate: 0.001, batchSize: 64 }, rmse: 3 });
    const runs = await findRuns([path.join(root, 'sweep'), path.join(root, 'c'), path.join(root, 'sweep', 'a')]);
    assert.equal(runs.length, 3, 'a folder given twice counts once');
    const c = compareRuns(runs);
    assert.deepEqual(c.columns, ['train.batchSize', 'train.learningRate']);
    assert.deepEqual(c.rows.map((r) => r.name), ['b', 'c', 'a']);
    assert.deepEqual(c.rows.map((r) => r.options), [{ 'train.batchSize': 32, 'train.learningRate': 0.001 }, { 'train.batchSize': 64, 'train.learningRate': 0.001 }, { 'train.batchSize': 32, 'train.learningRate': 0.01 }]);
    const md = formatComparison(c, 'md').trim().split('\n');
    assert.equal(md[0], '| run | batchSize | learningRate | best val loss | val RMSE px | best epoch | epochs | minutes | images/s |');
    assert.equal(md[2], '| b | 32 | 0.001 | 0.002713 | 2.500 | 2 | 2 | 0.05 | 120.0 |');
    assert.equal(formatComparison(c, 'csv').split('\n')[1], 'b,32,0.001,0.002713,2.500,2,2,0.05,120.0');
    assert.equal(JSON.parse(formatComparison(c, 'json')).rows[2].valRmse, 4);
    // The report: one curve per run, in table order, names in the legend and the page's table.
    const svg = compareSvg(c, runs);
    assert.equal((svg.match(/<path /g) ?? []).length, 2 * 3, 'RMSE and loss panels, a line per run');
    assert.ok(svg.indexOf('1. b') < svg.indexOf('2. c') && svg.indexOf('2. c') < svg.indexOf('3. a'));
    const html = await compareHtml(c, runs);
    assert.match(html, /<td>b<\/td><td>32<\/td><td>0\.001<\/td>/);
    assert.match(html, /Plotly\.newPlot\('rmse'/);
    // Two runs that differ in one option only: one option column.
    assert.deepEqual(compareRuns(await findRuns([path.join(root, 'sweep')])).columns, ['train.learningRate']);
  });

  test('a run without summary.json is an error naming it, unless a checkpoint marks it unfinished', async () => {
    const root = path.join(work, 'cmp2');
    fakeRun(path.join(root, 'done'), { rmse: 3 });
    fakeRun(path.join(root, 'broken'), { summary: false });
    await rejectsOneLine(() => findRuns([root]), /cmp2\/broken: no summary\.json and no checkpoint/);
    await rejectsOneLine(() => findRuns([path.join(work, 'nope')]), /nope: no such folder/);
    mkdirSync(path.join(work, 'empty-dir'), { recursive: true });
    await rejectsOneLine(() => findRuns([path.join(work, 'empty-dir')]), /empty-dir: no runs here/);
    fakeRun(path.join(root, 'broken'), { summary: false, checkpoint: true, train: { batchSize: 8 }, rmse: 2 });
    const c = compareRuns(await findRuns([root]));
    assert.deepEqual(c.rows.map((r) => [r.name, r.state, r.valRmse, r.epochs]), [['broken', 'unfinished', 2, 2], ['done', 'done', 3, 2]]);
    assert.match(formatComparison(c, 'table').split('\n')[0]!, /^run\s+state\s+batchSize/);
  });
});

describe('runSweep (a fake launcher, no processes)', () => {
  const spec = sweepFromSets(['train.learningRate=0.01,0.001,0.0001']);
  const trials = expandSweep(spec, { preset: 'tiny' });

  test('runs each trial once, keeps finished ones, resumes interrupted ones, refuses another sweep in the folder', async () => {
    const out = path.join(work, 'sweep-run');
    const calls: string[][] = [];
    const launched = new Map<string, number>();
    const launch = (args: string[]) => {
      calls.push(args);
      const dir = args[args.indexOf(args.includes('--resume') ? '--resume' : '--out') + 1]!;
      // The first trial is "interrupted" the first time: a checkpoint and a stopped summary.
      launched.set(dir, (launched.get(dir) ?? 0) + 1);
      const interrupt = dir.endsWith(trials[1]!.id) && launched.get(dir) === 1;
      fakeRun(dir, { checkpoint: true, reason: interrupt ? 'stopped' : 'completed' });
      return { exit: Promise.resolve(interrupt ? 130 : 0), stop: () => {} };
    };
    const first = await runSweep({ outDir: out, spec, trials, parallel: 2, launch });
    assert.deepEqual(first.failed, [{ id: trials[1]!.id, exitCode: 130 }], 'a trial stopped by someone else counts as failed');
    assert.equal(calls.length, 3);
    assert.ok(calls.every((c) => c[0] === 'train' && c.includes('--config')));
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, trials[0]!.id, 'trial.keypoints.json'), 'utf8')), { preset: 'tiny', train: { learningRate: 0.01 } });
    assert.equal(await trialStatus(path.join(out, trials[1]!.id)), 'interrupted');
    calls.length = 0;
    const second = await runSweep({ outDir: out, spec, trials, parallel: 1, launch });
    assert.deepEqual(calls, [['train', '--resume', path.join(path.resolve(out), trials[1]!.id)]]);
    assert.deepEqual(second.failed, []);
    calls.length = 0;
    await runSweep({ outDir: out, spec, trials, parallel: 1, launch });
    assert.equal(calls.length, 0, 'nothing left to do');
    const other = sweepFromSets(['train.learningRate=0.5,0.001,0.0001']);
    await rejectsOneLine(() => runSweep({ outDir: out, spec: other, trials: expandSweep(other), parallel: 1, launch }), /holds a different sweep/);
  });

  test('a trial still trained by a live process on this machine is refused; a stale lock is not', async () => {
    const out = path.join(work, 'sweep-locked');
    const dir = path.join(out, trials[0]!.id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '.trial-lock.json'), JSON.stringify({ pid: process.pid, host: hostname() }));
    const launch = (args: string[]) => {
      fakeRun(args[args.indexOf('--out') + 1]!, {});
      return { exit: Promise.resolve(0), stop: () => {} };
    };
    await rejectsOneLine(() => runSweep({ outDir: out, spec, trials, parallel: 1, launch }), new RegExp(`still being trained by process ${process.pid}`));
    assert.ok(!existsSync(path.join(out, 'sweep.json')), 'nothing written');
    writeFileSync(path.join(dir, '.trial-lock.json'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const r = await runSweep({ outDir: out, spec, trials, parallel: 1, launch });
    assert.equal(r.ran.length, 3);
  });

  test('a shard runs only its trials; an aborted sweep starts no more', async () => {
    const out = path.join(work, 'sweep-shard');
    const ran: string[] = [];
    const launch = (args: string[]) => {
      const dir = args[args.indexOf('--out') + 1]!;
      ran.push(path.basename(dir));
      fakeRun(dir, {});
      return { exit: Promise.resolve(0), stop: () => {} };
    };
    await runSweep({ outDir: out, spec, trials, shard: parseShard('2/2'), parallel: 1, launch });
    assert.deepEqual(ran, [trials[1]!.id]);
    assert.ok(existsSync(path.join(out, 'sweep.json')));
    const controller = new AbortController();
    controller.abort();
    const r = await runSweep({ outDir: out, spec, trials, parallel: 1, launch, signal: controller.signal });
    assert.deepEqual(r.ran, []);
  });
});
