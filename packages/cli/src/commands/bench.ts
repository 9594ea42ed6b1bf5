import { Command } from 'commander';
import { PresetName, runBenchmark, UserError } from '@keypoints/core';
import { jsonOption, num } from '../program.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Training and inference speed of the seed and default networks on every available backend, beside PyTorch in the same run.')
    .option('--steps <n>', 'timed training steps per measurement', num('--steps', { int: true, min: 1 }))
    .option('--rounds <n>', 'rounds per network, PyTorch and ours alternating; figures are medians (default 1; use 3+ on a shared machine)', num('--rounds', { int: true, min: 1 }))
    .option('--backends <list>', 'comma-separated backends to measure (default: every available fast one)')
    .option('--networks <list>', `comma-separated presets to measure (default: seed,default)`)
    .option('--threads <n>', 'threads for the wasm gradient engine (default: available cores)', num('--threads', { int: true, min: 1 }))
    .option('--no-pytorch', 'skip the PyTorch comparison')
    .addOption(jsonOption())
    .action(async (flags: { steps?: number; rounds?: number; backends?: string; networks?: string; threads?: number; pytorch: boolean; json?: boolean }) => {
      const list = (s?: string) => s?.split(',').map((x) => x.trim()).filter(Boolean);
      const networks = list(flags.networks);
      for (const n of networks ?? []) {
        if (!PresetName.safeParse(n).success) throw new UserError(`bench: unknown network '${n}': use ${PresetName.options.join(', ')}`);
      }
      await runBenchmark({ steps: flags.steps, rounds: flags.rounds, backends: list(flags.backends), networks: networks as PresetName[] | undefined, threads: flags.threads, noPytorch: !flags.pytorch, json: flags.json });
    });
}
