import { Command } from 'commander';
import { initBackend, loadRun, writeSubmission } from '@keypoints/core';
import type { BackendName } from '@keypoints/core';
import { modelOrNewestRun } from '../newest-run.js';
import { backendOption, jsonOption } from '../program.js';

export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description("Predict Kaggle's test.csv and write the RowId,Location submission file.")
    .option('--model <run>', 'run folder (holding model.json; default: the newest under ./runs)')
    .requiredOption('--data <file>', "Kaggle's test.csv (ImageId,Image)")
    .requiredOption('--lookup <file>', "Kaggle's IdLookupTable.csv")
    .requiredOption('--out <file>', 'submission file to write')
    .addOption(backendOption().default('auto'))
    .addOption(jsonOption())
    .action(async (flags: { model?: string; data: string; lookup: string; out: string; backend: BackendName; json?: boolean }) => {
      const model = await modelOrNewestRun(flags.model, 'submit');
      await initBackend(flags.backend);
      const run = await loadRun(model);
      const { rows } = await writeSubmission({ run, testCsv: flags.data, lookupCsv: flags.lookup, out: flags.out });
      run.model.dispose();
      if (flags.json) process.stdout.write(JSON.stringify({ model, data: flags.data, lookup: flags.lookup, out: flags.out, rows }) + '\n');
      else process.stderr.write(`wrote ${rows} predictions to ${flags.out}\n`);
    });
}
