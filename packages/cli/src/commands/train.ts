import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { ExitCode, InputError, PresetName, resolveConfig, train, UserError, deepMerge } from '@keypoints/core';
import type { TrainingEvent } from '@keypoints/core';
import { backendOption, jsonOption, num } from '../program.js';
import { outputMode, trainingPrinter } from '../output.js';

interface TrainFlags {
  data?: string;
  config?: string;
  preset?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: string;
  validation?: number;
  missing?: string;
  timeLimit?: number;
  backend?: string;
  seed?: number;
  limit?: number;
  patience?: number;
  schedule?: string;
  warmup?: number;
  flip?: boolean;
  augment?: boolean;
  init?: string;
  freezeEpochs?: number;
  out?: string;
  resume?: string;
  json?: boolean;
}

/** Flags become a partial config; only flags the user gave override the file and the preset. */
export function flagsToConfig(f: TrainFlags): Record<string, unknown> {
  const drop = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const schedule = drop({ type: f.schedule, warmupEpochs: f.warmup });
  const model = drop({ init: f.init });
  const augment = f.augment === false ? { flip: false, shift: 0, rotate: 0, scale: 0, brightness: 0 } : drop({ flip: f.flip });
  return drop({
    preset: f.preset,
    seed: f.seed,
    backend: f.backend,
    data: drop({ path: f.data, validation: f.validation, missing: f.missing, limit: f.limit }),
    model: Object.keys(model).length ? model : undefined,
    train: drop({
      epochs: f.epochs,
      batchSize: f.batchSize,
      learningRate: f.lr,
      optimizer: f.optimizer,
      timeLimitMinutes: f.timeLimit,
      patience: f.patience,
      freezeEpochs: f.freezeEpochs,
      schedule: Object.keys(schedule).length ? schedule : undefined,
      augment: Object.keys(augment).length ? augment : undefined,
    }),
  });
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new InputError({ file }, 'cannot read the config file');
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new InputError({ file }, `not valid JSON: ${(err as Error).message}`);
  }
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('Train a model and write a run folder (model, config, metrics, curves, checkpoint).')
    .option('--data <file>', "Kaggle training.csv (.csv, .csv.gz, .zip) or an image folder with keypoints.csv; omitted: a generated synthetic set")
    .option('--config <file>', 'a *.keypoints.json config; flags override it')
    .addOption(new Option('--preset <name>', 'network and recipe to start from').choices(PresetName.options))
    .option('--epochs <n>', 'maximum epochs', num('--epochs', { int: true, min: 1 }))
    .option('--batch-size <n>', 'images per step', num('--batch-size', { int: true, min: 1 }))
    .option('--lr <rate>', 'peak learning rate', num('--lr', { min: 0 }))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd', 'momentum']))
    .option('--validation <v>', 'validation split: a fraction (< 1) or a row count', num('--validation', { min: 0 }))
    .addOption(new Option('--missing <how>', 'missing labels: mask (loss ignores them) or drop (complete rows only)').choices(['mask', 'drop']))
    .option('--time-limit <minutes>', 'wall-clock budget; schedules fit themselves to it', num('--time-limit', { min: 0.01 }))
    .addOption(backendOption())
    .option('--seed <n>', 'seed for split, initialisation, shuffling and augmentation', num('--seed', { int: true, min: 0 }))
    .option('--limit <n>', 'use at most this many rows', num('--limit', { int: true, min: 1 }))
    .option('--patience <n>', 'early stopping patience in epochs (0 = off)', num('--patience', { int: true, min: 0 }))
    .addOption(new Option('--schedule <type>', 'learning-rate schedule').choices(['constant', 'exponential', 'staircase', 'cosine']))
    .option('--warmup <epochs>', 'linear learning-rate warm-up, in epochs', num('--warmup', { min: 0 }))
    .option('--flip', 'random horizontal flips (left/right keypoints swapped)')
    .option('--no-flip', 'no horizontal flips')
    .option('--no-augment', 'no augmentation at all')
    .addOption(new Option('--init <weights>', 'none: random initialisation; face-api-68: start from the pretrained face-api landmark network (the pretrained preset sets it)').choices(['none', 'face-api-68']))
    .option('--freeze-epochs <n>', 'train only the output layer for this many epochs (fractions allowed) first', num('--freeze-epochs', { min: 0 }))
    .option('--out <dir>', 'run folder (default: runs/<time>-<preset>)')
    .option('--resume <dir>', 'continue the run in this folder from its checkpoint')
    .addOption(jsonOption())
    .action(async (flags: TrainFlags, cmd: Command) => {
      // --flip/--no-flip: commander defaults flip to true; only an explicit flag counts.
      if (cmd.getOptionValueSource('flip') === 'default') delete flags.flip;
      if (cmd.getOptionValueSource('augment') === 'default') delete flags.augment;
      const mode = outputMode(flags.json);
      const printer = trainingPrinter(mode);
      let errorPrinted = false;
      const onEvent = (e: TrainingEvent) => {
        if (e.type === 'error') errorPrinted = true;
        printer.onEvent(e);
      };
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(ExitCode.interrupted);
        process.stderr.write('\nstopping: saving a checkpoint after this batch (Ctrl-C again to quit at once)…\n');
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        let runDir: string, config;
        if (flags.resume) {
          // A resumed run is the same run: its saved config.json decides everything.
          const clash = [...new Set(cmd.options.map((o) => o.attributeName()))].filter((k) => !['resume', 'json'].includes(k) && cmd.getOptionValueSource(k) === 'cli');
          if (clash.length) {
            const given = flags as unknown as Record<string, unknown>;
            const names = clash.map((k) => (given[k] === false ? '--no-' : '--') + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
            throw new UserError(`--resume continues ${flags.resume} with the settings saved in its config.json; ${names.join(', ')} cannot be combined with it (start a new run with --out instead)`);
          }
          runDir = flags.resume;
          config = resolveConfig({});
        } else {
          const file = flags.config ? await readConfigFile(flags.config) : {};
          config = resolveConfig(deepMerge(file, flagsToConfig(flags)), flags.config ?? 'flags');
          const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
          runDir = flags.out ?? path.join('runs', `${stamp}-${config.preset}`);
        }
        const summary = await train({ config, runDir, resume: !!flags.resume, signal: controller.signal, onEvent });
        if (summary.reason === 'stopped') process.exitCode = ExitCode.interrupted;
        else if (summary.reason === 'diverged') process.exitCode = ExitCode.diverged;
      } catch (err) {
        // --json readers get every failure as an event on stdout too (stderr keeps the message).
        if (mode === 'json' && !errorPrinted) {
          const code = err instanceof InputError ? 'input' : err instanceof UserError ? 'user' : 'internal';
          process.stdout.write(JSON.stringify({ type: 'error', message: (err as Error)?.message ?? String(err), code }) + '\n');
        }
        throw err;
      } finally {
        printer.close();
        process.off('SIGINT', onSigint);
      }
    });
}
