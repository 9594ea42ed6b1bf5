/** `keypoints evaluate`: flags into an evaluate request (core scores it), then the figures and the CI gate. */
import { Command, Option } from 'commander';
import { evaluateRequest, ExitCode, FACE_API_INIT, initBackend } from '@keypoints/core';
import type { Tta } from '@keypoints/core';
import type { BackendName } from '@keypoints/core';
import { modelOrNewestRun } from '../newest-run.js';
import { backendOption, jsonOption, num, ttaOption } from '../program.js';

interface EvaluateFlags {
  model?: string;
  data: string;
  maxRmse?: number;
  backend: BackendName;
  json?: boolean;
  split: 'all' | 'train' | 'val';
  seed?: number;
  validation?: number;
  calibrate?: boolean;
  tta: Tta;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(`RMSE in pixels, overall and per keypoint; exit ${ExitCode.gateFailed} when over --max-rmse (a CI gate).`)
    .option('--model <run>', `run folder (holding model.json; default: the newest under ./runs), or ${FACE_API_INIT}: the pretrained face-api landmark network with no training, on the keypoints whose names it knows`)
    .requiredOption('--data <file>', 'labelled faces: Kaggle CSV (.csv, .csv.gz, .zip) or an image folder with keypoints.csv')
    .addOption(new Option('--split <rows>', "rows to score: all, or the training run's train/val split (its seed, validation and limit; --seed/--validation override)").choices(['all', 'train', 'val']).default('all'))
    .option('--seed <n>', 'split seed (default: the run\'s, else 42)', num('--seed', { int: true, min: 0 }))
    .option('--validation <v>', 'validation split: a fraction (< 1) or a row count (default: the run\'s, else 0.1)', num('--validation', { min: 0 }))
    .option('--calibrate', 'with --split val: first fit a global similarity transform (scale, rotation, shift) on the training rows\' predictions, then score the validation rows through it')
    .addOption(ttaOption())
    .option('--max-rmse <px>', `fail with exit code ${ExitCode.gateFailed} when the overall RMSE is above this`, num('--max-rmse', { min: 0 }))
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (flags: EvaluateFlags) => {
      const modelArg = await modelOrNewestRun(flags.model, 'evaluate');
      await initBackend(flags.backend);
      const { evaluation: ev, notes } = await evaluateRequest({ model: modelArg, data: flags.data, split: flags.split, seed: flags.seed, validation: flags.validation, calibrate: flags.calibrate, tta: flags.tta });
      const note = notes.join('; ');
      const passed = flags.maxRmse === undefined || ev.rmse <= flags.maxRmse;
      if (flags.json) {
        const out = { model: modelArg, data: flags.data, split: flags.split, tta: modelArg === FACE_API_INIT ? 'none' : flags.tta, calibrated: !!flags.calibrate, similarity: ev.similarity ?? null, rmse: ev.rmse, count: ev.count, rows: ev.rows, perKeypoint: ev.perKeypoint, maxRmse: flags.maxRmse ?? null, passed };
        process.stdout.write(JSON.stringify(out) + '\n');
      } else {
        const w = Math.max(...Object.keys(ev.perKeypoint).map((k) => k.length));
        const lines = Object.entries(ev.perKeypoint).map(([k, v]) => `  ${k.padEnd(w)}  ${Number.isNaN(v.rmse) ? '   n/a' : v.rmse.toFixed(3).padStart(6)} px  (${v.count} coords)`);
        process.stdout.write(`${note ? note + '\n' : ''}${flags.data}: ${ev.rows} rows, ${ev.count} labelled coordinates\nRMSE ${ev.rmse.toFixed(3)} px\n${lines.join('\n')}\n`);
        if (flags.maxRmse !== undefined) process.stdout.write(passed ? `passed: ${ev.rmse.toFixed(3)} ≤ ${flags.maxRmse} px\n` : `FAILED: ${ev.rmse.toFixed(3)} > ${flags.maxRmse} px\n`);
      }
      if (!passed) process.exitCode = ExitCode.gateFailed;
    });
}

