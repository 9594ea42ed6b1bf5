/** `keypoints compare`: one table of many runs (run folders, sweep folders, shards' artifacts). */
import { Command, Option } from 'commander';
import { compareHtml, compareRuns, findRuns, formatComparison, writeFileAtomic, type CompareFormat } from '@keypoints/core';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('Compare runs: one row per run, a column for each option that differs, then best validation loss, RMSE, epochs, minutes and images/s; sorted by RMSE.')
    .argument('<dirs...>', 'run folders, sweep folders or folders holding them (e.g. downloaded shard artifacts)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'md', 'csv', 'json']).default('table'))
    .option('--html <file>', 'also write an HTML report: the table and every run\'s learning curves overlaid')
    .action(async (dirs: string[], flags: { format: CompareFormat; html?: string }) => {
      // Every folder is read and checked before anything is printed or written.
      const runs = await findRuns(dirs);
      const comparison = compareRuns(runs);
      const page = flags.html ? await compareHtml(comparison, runs) : undefined;
      process.stdout.write(formatComparison(comparison, flags.format));
      if (flags.html && page) {
        await writeFileAtomic(flags.html, page);
        process.stderr.write(`wrote ${flags.html}\n`);
      }
    });
}
