import { Command } from 'commander';
import { initBackend, loadRun, writeSubmission } from '@keypoints/core';
import type { BackendName } from '@keypoints/core';
import { backendOption } from '../program.js';

export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description("Predict Kaggle's test.csv and write the RowId,Location submission file.")
    .requiredOption('--model <run>', 'run folder (holding model.json)')
    .requiredOption('--data <file>', "Kaggle's test.csv (ImageId,Image)")
    .requiredOption('--lookup <file>', "Kaggle's IdLookupTable.csv")
    .requiredOption('--out <file>', 'submission file to write')
    .addOption(backendOption().default('auto'))
    .action(async (flags: { model: string; data: string; lookup: string; out: string; backend: BackendName }) => {
      await initBackend(flags.backend);
      const run = await loadRun(flags.model);
      const { rows } = await writeSubmission({ run, testCsv: flags.data, lookupCsv: flags.lookup, out: flags.out });
      run.model.dispose();
      process.stderr.write(`wrote ${rows} predictions to ${flags.out}\n`);
    });
}
