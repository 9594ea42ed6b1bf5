/** `keypoints evaluate`: flags into an evaluate request (core scores it and draws the pictures), then the figures and the CI gate. */
import path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_DETECTOR, DEFAULT_MIN_SCORE, DETECTOR_FILES, evaluateRequest, ExitCode, FACE_API_INIT, initBackend, isBuiltInModel, PHOTO_FRAMINGS, READY_MODEL } from '@keypoints/core';
import type { BackendName, DetectorName, PhotoFraming, Tta } from '@keypoints/core';
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
  framing?: PhotoFraming;
  detector: DetectorName;
  minScore: number;
  out?: string;
  pictures: boolean;
  tta: Tta;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(2)} %` : 'n/a');

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(`RMSE in pixels and NME (mean point error ÷ outer-eye-corner distance), overall and per keypoint, the CED curve and the worst faces, drawn as per-keypoint.png, ced.png and worst.png; exit ${ExitCode.gateFailed} when over --max-rmse (a CI gate).`)
    .option('--model <run>', `run folder (holding model.json; default: the newest under ./runs), or ${FACE_API_INIT}: the pretrained face-api landmark network with no training, on the keypoints whose names it knows, or ${READY_MODEL}: that network on Kaggle's 15 keypoints, calibrated on faces96 (what predict uses before any training)`)
    .requiredOption('--data <file>', 'labelled faces: Kaggle CSV (.csv, .csv.gz, .zip) or an image folder with keypoints.csv')
    .addOption(new Option('--split <rows>', "rows to score: all, or the training run's train/val split (its seed, validation and limit; --seed/--validation override)").choices(['all', 'train', 'val']).default('all'))
    .option('--seed <n>', 'split seed (default: the run\'s, else 42)', num('--seed', { int: true, min: 0 }))
    .option('--validation <v>', 'validation split: a fraction (< 1) or a row count (default: the run\'s, else 0.1)', num('--validation', { min: 0 }))
    .option('--calibrate', 'with --split val: first fit a global similarity transform (scale, rotation, shift) on the training rows\' predictions, then score the validation rows through it')
    .addOption(
      new Option('--framing <stage>', "a photo folder as predict meets photos, scored in the photos' pixels: each face cut from the crop its true points imply (truth: a perfect face box), the detector's box (detector) or that box refined (refined, as predict does); without it the folder is read as crops framed from the true points, as training reads it").choices(PHOTO_FRAMINGS as string[]),
    )
    .addOption(new Option('--detector <name>', 'with --framing detector or refined: the face detector').choices(Object.keys(DETECTOR_FILES)).default(DEFAULT_DETECTOR))
    .option('--min-score <p>', 'with --framing detector or refined: drop detections scoring at or below this', num('--min-score', { min: 0 }), DEFAULT_MIN_SCORE)
    .option('--out <dir>', 'folder for per-keypoint.png, ced.png and worst.png (default: the run folder; none for a built-in model without --out)')
    .option('--no-pictures', 'write no pictures')
    .addOption(ttaOption())
    .option('--max-rmse <px>', `fail with exit code ${ExitCode.gateFailed} when the overall RMSE is above this`, num('--max-rmse', { min: 0 }))
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (flags: EvaluateFlags, cmd: Command) => {
      const modelArg = await modelOrNewestRun(flags.model, 'evaluate');
      await initBackend(flags.backend);
      const pictures = !flags.pictures ? undefined : flags.out ?? (isBuiltInModel(modelArg) ? undefined : modelArg);
      // The model's own TTA (flip for a run, none for face-api's net) unless --tta was given.
      const tta = cmd.getOptionValueSource('tta') === 'default' ? undefined : flags.tta;
      const { evaluation: ev, notes, photos, pictures: written, tta: ran } = await evaluateRequest({
        model: modelArg, data: flags.data, split: flags.split, seed: flags.seed, validation: flags.validation, calibrate: flags.calibrate,
        framing: flags.framing, detector: flags.detector, minScore: flags.minScore, pictures, tta,
      });
      const note = notes.join('; ');
      const passed = flags.maxRmse === undefined || ev.rmse <= flags.maxRmse;
      if (flags.json) {
        const { rmse, count, rows, perKeypoint, nme, faces, missed, normalisers, ced, worst } = ev;
        const out = { model: modelArg, data: flags.data, split: flags.split, tta: ran, calibrated: !!flags.calibrate, similarity: ev.similarity ?? null, rmse, count, rows, nme, faces, missed, normalisers, perKeypoint, ced, worst, photos: photos ?? null, pictures: written ?? null, maxRmse: flags.maxRmse ?? null, passed };
        process.stdout.write(JSON.stringify(out) + '\n');
      } else {
        const w = Math.max(...Object.keys(ev.perKeypoint).map((k) => k.length));
        const lines = Object.entries(ev.perKeypoint).map(([k, v]) => `  ${k.padEnd(w)}  ${Number.isNaN(v.rmse) ? '   n/a' : v.rmse.toFixed(3).padStart(6)} px  ${pct(v.nme).padStart(8)}  (${v.count} coords)`);
        const norm = Object.entries(ev.normalisers).map(([k, n]) => `${k} ${n}`).join(', ');
        process.stdout.write(
          `${note ? note + '\n' : ''}${flags.data}: ${ev.rows} rows, ${ev.count} labelled coordinates\nRMSE ${ev.rmse.toFixed(3)} px, NME ${pct(ev.nme)} over ${ev.faces} faces (normalised by ${norm || 'nothing'})` +
            `\nCED: AUC@10% ${ev.ced.auc.toFixed(3)}, failures (NME > 10 %${ev.missed ? ' or not found' : ''}) ${pct(ev.ced.failureRate)}\n${lines.join('\n')}\n`,
        );
        if (written) process.stdout.write(`pictures: ${Object.values(written).map((p) => path.relative(process.cwd(), p) || p).join(', ')}\n`);
        if (flags.maxRmse !== undefined) process.stdout.write(passed ? `passed: ${ev.rmse.toFixed(3)} ≤ ${flags.maxRmse} px\n` : `FAILED: ${ev.rmse.toFixed(3)} > ${flags.maxRmse} px\n`);
      }
      if (!passed) process.exitCode = ExitCode.gateFailed;
    });
}

