import { Command, Option } from 'commander';
import { asKeypointModel, evaluateCalibrated, evaluateRun, ExitCode, FACE_API_INIT, faceApiZeroShot, initBackend, keepKeypoints, loadRun, readFaceSet, resolveConfig, splitForTraining, UserError } from '@keypoints/core';
import type { BackendName, Evaluation, FaceSet, KeypointModel, LoadedRun } from '@keypoints/core';
import { modelOrNewestRun } from '../newest-run.js';
import { backendOption, jsonOption, num } from '../program.js';

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
    .option('--max-rmse <px>', `fail with exit code ${ExitCode.gateFailed} when the overall RMSE is above this`, num('--max-rmse', { min: 0 }))
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (flags: EvaluateFlags) => {
      if (flags.calibrate && flags.split !== 'val') throw new UserError('--calibrate fits on the training rows and scores the validation rows: use it with --split val');
      const modelArg = await modelOrNewestRun(flags.model, 'evaluate');
      await initBackend(flags.backend);
      const zeroShot = modelArg === FACE_API_INIT;
      const run: LoadedRun | undefined = zeroShot ? undefined : await loadRun(modelArg);
      // RMSE is in the data's own pixels: images of another size are resized for the model, not the labels.
      let set: FaceSet = await readFaceSet(flags.data);
      let model: KeypointModel & { dispose(): void };
      let note = '';
      if (run) model = { ...asKeypointModel(run), dispose: () => run.model.dispose() };
      else {
        model = faceApiZeroShot(set.keypoints, set.width === set.height ? set.width : 96);
        if (model.keypoints.length < set.keypoints.length) note = `${FACE_API_INIT} knows ${model.keypoints.length} of the data's ${set.keypoints.length} keypoints; scoring those`;
        set = keepKeypoints(set, model.keypoints);
      }
      let fit: FaceSet | undefined;
      if (flags.split !== 'all') {
        const base = run?.config ?? resolveConfig({});
        const config = { seed: flags.seed ?? base.seed, data: { ...base.data, validation: flags.validation ?? base.data.validation } };
        const split = splitForTraining(set, config);
        fit = split.train;
        set = flags.split === 'val' ? split.val : split.train;
        note += `${note ? '; ' : ''}${flags.split} split: ${set.count} of ${split.all.count} rows (seed ${config.seed}, validation ${config.data.validation})`;
      }
      let ev: Evaluation & { similarity?: { a: number; b: number; tx: number; ty: number } };
      try {
        ev = flags.calibrate ? await evaluateCalibrated(model, fit!, set) : await evaluateRun(model, set);
      } finally {
        model.dispose();
      }
      if (flags.calibrate && ev.similarity) note += `; calibrated on ${fit!.count} training rows (scale ${Math.hypot(ev.similarity.a, ev.similarity.b).toFixed(4)}, rotation ${((Math.atan2(ev.similarity.b, ev.similarity.a) * 180) / Math.PI).toFixed(2)}°, shift ${ev.similarity.tx.toFixed(2)}, ${ev.similarity.ty.toFixed(2)} px)`;
      const passed = flags.maxRmse === undefined || ev.rmse <= flags.maxRmse;
      if (flags.json) {
        const out = { model: modelArg, data: flags.data, split: flags.split, calibrated: !!flags.calibrate, similarity: ev.similarity ?? null, rmse: ev.rmse, count: ev.count, rows: ev.rows, perKeypoint: ev.perKeypoint, maxRmse: flags.maxRmse ?? null, passed };
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
