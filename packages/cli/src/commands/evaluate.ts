import { Command } from 'commander';
import { asKeypointModel, evaluateModel, ExitCode, initBackend, loadRun, readFaceSet } from '@keypoints/core';
import { jsonOption, num } from '../program.js';

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description(`RMSE in pixels, overall and per keypoint; exit ${ExitCode.gateFailed} when over --max-rmse (a CI gate).`)
    .requiredOption('--model <run>', 'run folder (holding model.json)')
    .requiredOption('--data <file>', 'labelled faces: Kaggle CSV (.csv, .csv.gz, .zip) or an image folder with keypoints.csv')
    .option('--max-rmse <px>', `fail with exit code ${ExitCode.gateFailed} when the overall RMSE is above this`, num('--max-rmse', { min: 0 }))
    .option('--backend <name>', 'compute backend', 'auto')
    .addOption(jsonOption())
    .action(async (flags: { model: string; data: string; maxRmse?: number; backend: string; json?: boolean }) => {
      await initBackend(flags.backend as 'auto');
      const run = await loadRun(flags.model);
      const set = await readFaceSet(flags.data, { imageSize: run.imageSize });
      const ev = await evaluateModel(asKeypointModel(run), set);
      const passed = flags.maxRmse === undefined || ev.rmse <= flags.maxRmse;
      if (flags.json) {
        process.stdout.write(JSON.stringify({ rmse: ev.rmse, count: ev.count, rows: ev.rows, perKeypoint: ev.perKeypoint, maxRmse: flags.maxRmse ?? null, passed }) + '\n');
      } else {
        const w = Math.max(...Object.keys(ev.perKeypoint).map((k) => k.length));
        const lines = Object.entries(ev.perKeypoint).map(([k, v]) => `  ${k.padEnd(w)}  ${Number.isNaN(v.rmse) ? '   n/a' : v.rmse.toFixed(3).padStart(6)} px  (${v.count} coords)`);
        process.stdout.write(`${flags.data}: ${ev.rows} rows, ${ev.count} labelled coordinates\nRMSE ${ev.rmse.toFixed(3)} px\n${lines.join('\n')}\n`);
        if (flags.maxRmse !== undefined) process.stdout.write(passed ? `passed: ${ev.rmse.toFixed(3)} ≤ ${flags.maxRmse} px\n` : `FAILED: ${ev.rmse.toFixed(3)} > ${flags.maxRmse} px\n`);
      }
      if (!passed) process.exitCode = ExitCode.gateFailed;
    });
}
