/** `keypoints train`: flags into a training request; core resolves, names and trains it. */
import { Command, Option } from 'commander';
import { errorCodeOf, ExitCode, PresetName, previewTraining, resolveConfig, trainRequest, trainRun, trainSettings, trainTargetOf, UserError, type TrainPreview } from '@keypoints/core';
import { backendOption, jsonOption, num } from '../program.js';
import { epochs, outputMode, settingsLine, trainingPrinter } from '../output.js';

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
  specialists?: boolean;
  freezeEpochs?: number;
  loss?: string;
  ema?: number;
  out?: string;
  resume?: string;
  dryRun?: boolean;
  json?: boolean;
}

const INIT_NETWORKS = ['none', 'face-api-68'];

const lr = (v: number) => String(Number(v.toPrecision(3)));

/** --dry-run: the resolved config, then the plan, on stdout. */
function printPreview(p: TrainPreview): void {
  const d = p.data, tc = p.config.train;
  const lines = [
    `resolved config:`,
    JSON.stringify(p.config, null, 2),
    ``,
    `plan (--dry-run: nothing trained, nothing written):`,
    `  ${settingsLine(trainSettings(p.config))}`,
    `  data: ${d.synthetic ? 'a generated synthetic face set (no --data given)' : d.source}: ${d.trainCount} train / ${d.valCount} validation rows, ${d.keypoints.length} keypoints, ${d.imageSize}×${d.imageSize} px`,
    `  ${epochs(p.epochs)} × ${p.stepsPerEpoch} steps of ${tc.batchSize} images${p.totalSteps === null ? '' : ` = ${p.totalSteps} steps`}${p.freezeSteps ? `, the first ${p.freezeSteps} training the output layer alone` : ''}${p.startEpoch > 1 ? `; resuming at epoch ${p.startEpoch}` : ''}`,
    `  learning rate (${tc.schedule.type}): ${lr(p.learningRate.first)} at the first step${p.learningRate.last === null ? ' (the rest is planned after the first epoch)' : `, ${lr(p.learningRate.peak)} at its highest, ${lr(p.learningRate.last)} at the last`}`,
    ...p.notes.map((n) => `  ${n}`),
    `  run folder: ${p.runDir}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Flags become a partial config; only flags the user gave override the file and the preset. */
export function flagsToConfig(f: TrainFlags): Record<string, unknown> {
  const drop = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const schedule = drop({ type: f.schedule, warmupEpochs: f.warmup });
  // --init names a pretrained network (model.init) or, with --specialists, a run folder to start from.
  const runInit = f.init !== undefined && !INIT_NETWORKS.includes(f.init) ? f.init : undefined;
  if (runInit !== undefined && !f.specialists) throw new UserError(`--init ${runInit}: a run folder starts specialists (add --specialists); for a network give ${INIT_NETWORKS.join(' or ')}`);
  const model = drop({ init: runInit === undefined ? f.init : undefined });
  const augment = f.augment === false ? { flip: false, shift: 0, rotate: 0, scale: 0, brightness: 0 } : drop({ flip: f.flip });
  return drop({
    preset: f.preset,
    seed: f.seed,
    backend: f.backend,
    data: drop({ path: f.data, validation: f.validation, missing: f.missing, limit: f.limit }),
    model: Object.keys(model).length ? model : undefined,
    specialists: f.specialists ? drop({ init: runInit }) : undefined,
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
      loss: f.loss !== undefined ? { type: f.loss } : undefined,
      ema: f.ema,
    }),
  });
}

export function registerTrain(program: Command): void {
  // Help shows the default preset's values: a flag given overrides them, one left out keeps the preset's.
  const d = resolveConfig({}), t = d.train;
  const def = (v: unknown) => ` (default preset: ${v})`;
  program
    .command('train')
    .description('Train a model and write a run folder (model, config, metrics, curves, checkpoint).')
    .option('--data <file>', "Kaggle training.csv (.csv, .csv.gz, .zip) or an image folder with keypoints.csv; omitted: a generated synthetic set")
    .option('--config <file>', 'a *.keypoints.json config; flags override it')
    .addOption(new Option('--preset <name>', 'network and recipe to start from (default: default)').choices(PresetName.options))
    .option('--epochs <n>', 'epochs to train (fewer only if --time-limit cannot hold them); omitted with --time-limit: as many as the budget holds' + def(t.epochs), num('--epochs', { int: true, min: 1 }))
    .option('--batch-size <n>', 'images per step' + def(t.batchSize), num('--batch-size', { int: true, min: 1 }))
    .option('--lr <rate>', 'peak learning rate' + def(t.learningRate), num('--lr', { min: 0 }))
    .addOption(new Option('--optimizer <name>', 'optimizer' + def(t.optimizer)).choices(['adam', 'sgd', 'momentum']))
    .option('--validation <v>', 'validation split: a fraction (< 1) or a row count' + def(d.data.validation), num('--validation', { min: 0 }))
    .addOption(new Option('--missing <how>', 'missing labels: mask (loss ignores them) or drop (complete rows only)' + def(d.data.missing)).choices(['mask', 'drop']))
    .option('--time-limit <minutes>', 'wall-clock budget: the run plans its epochs and learning-rate schedule to fill it, and stops inside it (default: none)', num('--time-limit', { min: 0.01 }))
    .addOption(backendOption())
    .option('--seed <n>', 'seed for split, initialisation, shuffling and augmentation' + def(d.seed), num('--seed', { int: true, min: 0 }))
    .option('--limit <n>', 'use at most this many rows (default: all)', num('--limit', { int: true, min: 1 }))
    .option('--patience <n>', 'early stopping patience in epochs (0 = off)' + def(t.patience), num('--patience', { int: true, min: 0 }))
    .addOption(new Option('--schedule <type>', 'learning-rate schedule' + def(t.schedule.type)).choices(['constant', 'exponential', 'staircase', 'cosine']))
    .option('--warmup <epochs>', 'linear learning-rate warm-up, in epochs' + def(t.schedule.warmupEpochs), num('--warmup', { min: 0 }))
    .option('--flip', 'random horizontal flips (left/right keypoints swapped)' + def(t.augment.flip ? 'on' : 'off'))
    .option('--no-flip', 'no horizontal flips')
    .option('--no-augment', 'no augmentation at all')
    .option('--init <weights>', 'none: random initialisation; face-api-68: start from the pretrained face-api landmark network (the pretrained preset sets it); with --specialists, a run folder whose weights each specialist starts from')
    .option('--specialists', 'one network per keypoint group (eye centres, eye corners, eyebrows, nose, mouth corners, lips; or the config\'s specialists.groups), in one run folder')
    .addOption(new Option('--loss <type>', 'training loss: mse, or wing (Wing loss: log-shaped for small errors; train.loss sets its width and curvature)' + def(t.loss.type)).choices(['mse', 'wing']))
    .option('--ema <decay>', 'average the weights over the run (decay per step, e.g. 0.998; 0 = off): validation and the saved model use the average', num('--ema', { min: 0 }))
    .option('--freeze-epochs <n>', 'train only the output layer for this many epochs (fractions allowed) first' + def(t.freezeEpochs), num('--freeze-epochs', { min: 0 }))
    .option('--out <dir>', 'run folder (default: runs/<time>-<preset>)')
    .option('--resume <dir>', 'continue the run in this folder from its checkpoint')
    .option('--dry-run', 'print the resolved config and the plan (epochs, steps, schedule, data rows) without training')
    .addOption(jsonOption())
    .action(async (flags: TrainFlags, cmd: Command) => {
      // --flip/--no-flip: commander defaults flip to true; only an explicit flag counts.
      if (cmd.getOptionValueSource('flip') === 'default') delete flags.flip;
      if (cmd.getOptionValueSource('augment') === 'default') delete flags.augment;
      const mode = outputMode(flags.json);
      const printer = trainingPrinter(mode);
      const controller = new AbortController();
      // Ctrl-C, and what editors, CI runners and closing terminals send (SIGTERM, SIGHUP): all checkpoint.
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      const onSignal = (sig: NodeJS.Signals) => {
        if (controller.signal.aborted) process.exit(ExitCode.interrupted);
        process.stderr.write(`\n${sig}: stopping, saving a checkpoint after this batch (Ctrl-C again to quit at once)…\n`);
        controller.abort();
      };
      for (const s of signals) process.on(s, onSignal);
      try {
        // Settings flags given beside --resume, as the user wrote them (--no-flip for a negated one).
        const given = [...new Set(cmd.options.map((o) => o.attributeName()))]
          .filter((k) => !['resume', 'json', 'dryRun'].includes(k) && cmd.getOptionValueSource(k) === 'cli')
          .map((k) => ((flags as unknown as Record<string, unknown>)[k] === false ? '--no-' : '--') + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
        const request = trainRequest({ resume: flags.resume, resumeName: '--resume', given }, () => ({ configFile: flags.config, settings: flagsToConfig(flags), source: 'flags', runDir: flags.out }));
        const target = await trainTargetOf(request);
        if (flags.dryRun) {
          const preview = await previewTraining(target);
          if (mode === 'json') process.stdout.write(JSON.stringify({ type: 'dryRun', ...preview }) + '\n');
          else printPreview(preview);
          return;
        }
        const summary = await trainRun({ ...target, signal: controller.signal, onEvent: printer.onEvent });
        if (summary.reason === 'stopped') process.exitCode = ExitCode.interrupted;
        else if (summary.reason === 'diverged') process.exitCode = ExitCode.diverged;
      } catch (err) {
        // --json readers get every failure as an event on stdout too; stderr has the message (reportError, once).
        if (mode === 'json') process.stdout.write(JSON.stringify({ type: 'error', message: (err as Error)?.message ?? String(err), code: errorCodeOf(err) }) + '\n');
        throw err;
      } finally {
        printer.close();
        for (const s of signals) process.off(s, onSignal);
      }
    });
}
