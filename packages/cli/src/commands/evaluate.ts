import { Command } from 'commander';
import { evaluateRun, ExitCode, initBackend, loadRun, readFaceSet } from '@keypoints/core';
import type { BackendName } from '@keypoints/core';
import { backendOption, jsonOption, num } from '../program.js';

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(`RMSE in pixels, overall and per keypoint; exit ${ExitCode.gateFailed} when over --max-rmse (a CI gate).`)
    .requiredOption('--model <run>', 'run folder (holding model.json)')
    .requiredOption('--data <file>', 'labelled faces: Kaggle CSV (.csv, .csv.gz, .zip) or an image folder with keypoints.csv')
    .option('--max-rmse <px>', `fail with exit code ${ExitCode.gateFailed} when the overall RMSE is above this`, num('--max-rmse', { min: 0 }))
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (flags: { model: string; data: string; maxRmse?: number; backend: BackendName; json?: boolean }) => {
      await initBackend(flags.backend);
      const run = await loadRun(flags.model);
      // RMSE is in the data's own pixels: images of another size are resized for the model, not the labels.
      const set = await readFaceSet(flags.data);
      const ev = await evaluateRun(run, set);
      const passed = flags.maxRmse === undefined || ev.rmse <= flags.maxRmse;
      if (flags.json) {
        const out = { model: flags.model, data: flags.data, rmse: ev.rmse, count: ev.count, rows: ev.rows, perKeypoint: ev.perKeypoint, maxRmse: flags.maxRmse ?? null, passed };
        process.stdout.write(JSON.stringify(out) + '\n');
      } else {
        const w = Math.max(...Object.keys(ev.perKeypoint).map((k) => k.length));
        const lines = Object.entries(ev.perKeypoint).map(([k, v]) => `  ${k.padEnd(w)}  ${Number.isNaN(v.rmse) ? '   n/a' : v.rmse.toFixed(3).padStart(6)} px  (${v.count} coords)`);
        process.stdout.write(`${flags.data}: ${ev.rows} rows, ${ev.count} labelled coordinates\nRMSE ${ev.rmse.toFixed(3)} px\n${lines.join('\n')}\n`);
        if (flags.maxRmse !== undefined) process.stdout.write(passed ? `passed: ${ev.rmse.toFixed(3)} ≤ ${flags.maxRmse} px\n` : `FAILED: ${ev.rmse.toFixed(3)} > ${flags.maxRmse} px\n`);
      }
      run.model.dispose();
      if (!passed) process.exitCode = ExitCode.gateFailed;
    });
}
