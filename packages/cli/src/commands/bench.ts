import { Command } from 'commander';
import * as core from '@keypoints/core';
import { UserError } from '@keypoints/core';
import { jsonOption, num } from '../program.js';

type BenchFn = (opts: { steps?: number; json?: boolean; backends?: string[]; onRecord?: (r: unknown) => void }) => Promise<unknown[]>;

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Training and inference speed of the seed and default networks on every available backend, beside PyTorch.')
    .option('--steps <n>', 'training steps per measurement', num('--steps', { int: true, min: 1 }))
    .option('--backends <list>', 'comma-separated backends to measure (default: every available one)')
    .addOption(jsonOption())
    .action(async (flags: { steps?: number; backends?: string; json?: boolean }) => {
      const run = (core as unknown as { runBenchmark?: BenchFn }).runBenchmark;
      if (!run) throw new UserError('bench: this build has no benchmark yet');
      await run({ steps: flags.steps, json: flags.json, backends: flags.backends?.split(',') });
    });
}
