import { Command } from 'commander';
import { configJsonSchema } from '@keypoints/core';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('Print the JSON Schema of *.keypoints.json training configs.')
    .action(() => {
      process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    });
}
