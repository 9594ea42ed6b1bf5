import { Command } from 'commander';
import { configJsonSchema, sweepJsonSchema } from '@keypoints/core';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('Print the JSON Schema of *.keypoints.json training configs (or, with --sweep, of *.sweep.json sweeps).')
    .option('--sweep', 'the schema of *.sweep.json files instead')
    .action((flags: { sweep?: boolean }) => {
      process.stdout.write(JSON.stringify(flags.sweep ? sweepJsonSchema() : configJsonSchema(), null, 2) + '\n');
    });
}
