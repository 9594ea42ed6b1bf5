import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitCode, InputError, PresetName, resolveConfig, UserError } from '@keypoints/core';
import type { TrainingEvent } from '@keypoints/core';
import { flagsToConfig } from '../src/commands/train.ts';
import { reportError } from '../src/errors.ts';
import { trainingPrinter } from '../src/output.ts';
import { buildProgram, describeProgram } from '../src/program.ts';

/** Runs fn with process.stdout/stderr writes captured. */
function capture(fn: () => void): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  const [o, e] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => ((out.stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((out.stderr += s), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
  return out;
}

describe('the command definitions (what the docs generate the CLI reference from)', () => {
  test('every command and option is described; the documented commands and flags exist', () => {
    const ref = describeProgram();
    assert.equal(ref.name, 'keypoints');
    const names = ref.commands.map((c) => c.name);
    for (const c of ['train', 'evaluate', 'predict', 'submit', 'bench', 'schema']) assert.ok(names.includes(c), c);
    for (const c of ref.commands) {
      assert.ok(c.description.length > 10, `${c.name} has a description`);
      for (const o of c.options) assert.ok(o.description.length > 3, `${c.name} ${o.flags} has a description`);
    }
    const flags = (cmd: string) => ref.commands.find((c) => c.name === cmd)!.options.map((o) => o.flags.split(' ')[0]);
    for (const f of ['--data', '--config', '--preset', '--epochs', '--batch-size', '--lr', '--optimizer', '--validation', '--missing', '--time-limit', '--backend', '--seed', '--limit', '--out', '--resume', '--flip', '--no-flip', '--json']) {
      assert.ok(flags('train').includes(f), `train ${f}`);
    }
    assert.ok(flags('evaluate').includes('--max-rmse'));
    assert.ok(flags('predict').includes('--overlay'));
    const preset = ref.commands.find((c) => c.name === 'train')!.options.find((o) => o.flags.startsWith('--preset'))!;
    assert.deepEqual(preset.choices, PresetName.options);
    assert.deepEqual(ref.commands.find((c) => c.name === 'predict')!.arguments, [{ name: 'inputs', description: 'image files (PNG or JPEG, recognised by content), folders of them, or a Kaggle test.csv (.csv, .csv.gz, .zip)', required: true, variadic: true }]);
  });

  test('bad flag values are refused before any work, with the flag named', async () => {
    for (const [args, msg] of [
      [['train', '--epochs', 'many'], /--epochs must be a whole number ≥ 1, got "many"/],
      [['train', '--lr', '-1'], /--lr must be a number ≥ 0/],
      [['train', '--optimizer', 'rmsprop'], /Allowed choices are adam, sgd, momentum/],
      [['evaluate', '--model', 'runs/x'], /required option '--data <file>' not specified/],
    ] as const) {
      const program = buildProgram();
      let err = '';
      for (const c of [program, ...program.commands]) c.configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
      await assert.rejects(program.parseAsync(['node', 'keypoints', ...args]), (e: { code?: string }) => e.code?.startsWith('commander.') === true);
      assert.match(err, msg);
    }
  });
});

describe('train flags -> config', () => {
  test('only the flags given override the config file and preset', () => {
    assert.deepEqual(flagsToConfig({}), { data: {}, train: {} });
    const user = flagsToConfig({ preset: 'tiny', epochs: 3, lr: 0.01, missing: 'drop', timeLimit: 5, schedule: 'cosine', warmup: 1, flip: false, data: 'faces.csv', validation: 50 });
    const c = resolveConfig(user, 'flags');
    assert.equal(c.preset, 'tiny');
    assert.equal(c.train.epochs, 3);
    assert.equal(c.train.learningRate, 0.01);
    assert.equal(c.train.timeLimitMinutes, 5);
    assert.equal(c.train.schedule.type, 'cosine');
    assert.equal(c.train.schedule.warmupEpochs, 1);
    assert.equal(c.train.augment.flip, false);
    assert.equal(c.data.missing, 'drop');
    assert.equal(c.data.path, 'faces.csv');
    assert.equal(c.data.validation, 50);
    // Untouched settings keep the preset's values.
    assert.equal(c.train.batchSize, resolveConfig({ preset: 'tiny' }).train.batchSize);
  });

  test('--no-augment turns every augmentation off', () => {
    const c = resolveConfig({ ...flagsToConfig({ augment: false }), preset: 'default' });
    assert.deepEqual(c.train.augment, { flip: false, shift: 0, rotate: 0, scale: 0, brightness: 0 });
  });
});

describe('output', () => {
  const start: TrainingEvent = { type: 'start', runDir: 'runs/x', backend: 'wasm', backendNote: 'wasm (SIMD)', dataSource: 'synthetic', synthetic: true, trainCount: 230, valCount: 26, keypoints: ['a', 'b'], epochs: 2, stepsPerEpoch: 8, startEpoch: 1, parameters: 300000, flopsPerImage: 7.2e6, settings: { preset: 'tiny', epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 3e-3, schedule: 'cosine', warmupEpochs: 0.5, patience: 0, seed: 1, freezeEpochs: 0, augment: { flip: true, shift: 2, rotate: 0, scale: 0, brightness: 0.1 } } };
  const epoch: TrainingEvent = { type: 'epochEnd', epoch: 1, epochs: 2, trainLoss: 0.02818, valLoss: 0.00575, valRmse: 3.6404, learningRate: 3e-3, seconds: 6.1, imagesPerSecond: 38, elapsedSeconds: 6.1, best: true };
  const batch: TrainingEvent = { type: 'batchEnd', epoch: 1, batch: 2, batches: 8, loss: 0.1, learningRate: 3e-3, imagesPerSecond: 30, etaSeconds: 12 };

  test('plain mode: one line per epoch on stderr, says when the data is synthetic, no batch noise', () => {
    const p = trainingPrinter('plain');
    const { stdout, stderr } = capture(() => [start, batch, epoch].forEach(p.onEvent));
    assert.equal(stdout, '');
    assert.match(stderr, /^training on a generated synthetic face set \(no --data given\): 230 train \/ 26 validation rows, 2 keypoints\n/);
    // The start lines name the key hyper-parameters.
    assert.match(stderr, /\npreset tiny: 2 epochs, batch 32, adam lr 0\.003, cosine schedule, warm-up 0\.5 epochs, patience off, seed 1, augment flip shift 2px brightness 0\.1\n/);
    assert.match(stderr, /\nepoch 1\/2 {2}train loss 0\.02818 {2}val loss 0\.00575 {2}val RMSE 3\.640 px {2}lr 3\.00e-3 {2}6\.1 s {2}38\.0 img\/s {2}\*best\n$/);
    assert.doesNotMatch(stderr.replace(/^preset .*\n/m, ''), /batch|ETA/, 'no per-batch lines (the settings line names the batch size)');
  });

  test('json mode: every event as one JSON line on stdout', () => {
    const p = trainingPrinter('json');
    const { stdout, stderr } = capture(() => [start, batch, epoch].forEach(p.onEvent));
    assert.equal(stderr, '');
    assert.deepEqual(stdout.trim().split('\n').map((l) => JSON.parse(l)), [start, batch, epoch]);
  });

  test('user errors print one line and their exit code; bugs keep their stack', () => {
    let code = 0;
    const user = capture(() => (code = reportError(new InputError({ file: 'a.csv', row: 3, field: 'x_y' }, '"oops" is not a number'))));
    assert.equal(user.stderr, 'keypoints: a.csv, row 3, field "x_y": "oops" is not a number\n');
    assert.equal(code, ExitCode.input);
    capture(() => (code = reportError(new UserError('bad'))));
    assert.equal(code, ExitCode.usage);
    const bug = capture(() => (code = reportError(new TypeError('x is undefined'))));
    assert.equal(code, ExitCode.internal);
    assert.match(bug.stderr, /internal error \(please report it\): TypeError: x is undefined\n\s+at /);
  });
});
