import { Command } from 'commander';
import { asKeypointModel, initBackend, loadRun, writeSubmission } from '@keypoints/core';

export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description("Predict Kaggle's test.csv and write the RowId,Location submission file.")
    .requiredOption('--model <run>', 'run folder (holding model.json)')
    .requiredOption('--data <file>', "Kaggle's test.csv (ImageId,Image)")
    .requiredOption('--lookup <file>', "Kaggle's IdLookupTable.csv")
    .requiredOption('--out <file>', 'submission file to write')
    .option('--backend <name>', 'compute backend', 'auto')
    .action(async (flags: { model: string; data: string; lookup: string; out: string; backend: string }) => {
      await initBackend(flags.backend as 'auto');
      const run = await loadRun(flags.model);
      const { rows } = await writeSubmission({ model: asKeypointModel(run), testCsv: flags.data, lookupCsv: flags.lookup, out: flags.out });
      process.stderr.write(`wrote ${rows} predictions to ${flags.out}\n`);
    });
}
