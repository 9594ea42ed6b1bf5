/** `keypoints compare`: one table of many runs (run folders, sweep folders, shards' artifacts). */
import { Command, Option } from 'commander';
import { compareHtml, compareRuns, compareSvg, findRuns, formatComparison, svgToPng, writeFileAtomic, type CompareFormat } from '@keypoints/core';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('Compare runs: one row per run, a column for each option that differs, then best validation loss, RMSE, epochs, minutes and images/s; sorted by RMSE.')
    .argument('<dirs...>', 'run folders, sweep folders or folders holding them (e.g. downloaded shard artifacts)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'md', 'csv', 'json']).default('table'))
    .option('--html <file>', 'also write an HTML report: the table and every run\'s learning curves overlaid')
    .option('--png <file>', 'also write the overlaid validation curves as a PNG (for READMEs and CI summaries)')
    .action(async (dirs: string[], flags: { format: CompareFormat; html?: string; png?: string }) => {
      // Every folder is read and checked before anything is printed or written.
      const runs = await findRuns(dirs);
      const comparison = compareRuns(runs);
      const page = flags.html ? await compareHtml(comparison, runs) : undefined;
      const png = flags.png ? await svgToPng(compareSvg(comparison, runs)) : undefined;
      process.stdout.write(formatComparison(comparison, flags.format));
      if (flags.html && page) {
        await writeFileAtomic(flags.html, page);
        process.stderr.write(`wrote ${flags.html}\n`);
      }
      if (flags.png && png) {
        await writeFileAtomic(flags.png, png);
        process.stderr.write(`wrote ${flags.png}\n`);
      }
    });
}
