import { spawn } from 'node:child_process';
import { Command, Option } from 'commander';
import { measureOne, PresetName, runBenchmark, UserError, type Measurement } from '@keypoints/core';
import { jsonOption, num } from '../program.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('Training and inference speed of the seed and default networks on every available backend, beside PyTorch in the same run.')
    .option('--steps <n>', 'timed training steps per measurement, after 3 untimed ones (default 20)', num('--steps', { int: true, min: 1 }))
    .option('--rounds <n>', 'rounds per network, PyTorch and ours alternating; figures are medians (default 1; use 3+ on a shared machine)', num('--rounds', { int: true, min: 1 }))
    .option('--backends <list>', 'comma-separated backends to measure (default: every available fast one)')
    .option('--networks <list>', `comma-separated presets to measure (default: seed,default)`)
    .option('--threads <n>', 'XNNPACK threads for the wasm backend (default: $KEYPOINTS_WASM_THREADS, else available cores)', num('--threads', { int: true, min: 1 }))
    .option('--no-pytorch', 'skip the PyTorch comparison')
    .addOption(new Option('--measure-one <network:backend>', 'internal: one measurement, printed as JSON, in the fresh process the bench starts for it').hideHelp())
    .addOption(jsonOption())
    .action(async (flags: { steps?: number; rounds?: number; backends?: string; networks?: string; threads?: number; pytorch: boolean; json?: boolean; measureOne?: string }) => {
      if (flags.measureOne) {
        const [network, backend] = flags.measureOne.split(':') as [PresetName, string];
        process.stdout.write(JSON.stringify(await measureOne(network, backend, { wasmThreads: flags.threads }, flags.steps ?? 20)) + '\n');
        return;
      }
      const list = (s?: string) => s?.split(',').map((x) => x.trim()).filter(Boolean);
      const networks = list(flags.networks);
      for (const n of networks ?? []) {
        if (!PresetName.safeParse(n).success) throw new UserError(`bench: unknown network '${n}': use ${PresetName.options.join(', ')}`);
      }
      const measureIn = (network: PresetName, backend: string, steps: number) => measureInChild(network, backend, steps, flags.threads);
      await runBenchmark({ steps: flags.steps, rounds: flags.rounds, backends: list(flags.backends), networks: networks as PresetName[] | undefined, wasmThreads: flags.threads, noPytorch: !flags.pytorch, json: flags.json, measureIn });
    });
}

/**
 * One measurement in a fresh `keypoints bench --measure-one` process, as a user's training or
 * predict process starts: nothing left over from the network measured before it.
 */
function measureInChild(network: PresetName, backend: string, steps: number, threads?: number): Promise<Measurement> {
  const args = [...process.execArgv, process.argv[1]!, 'bench', '--measure-one', `${network}:${backend}`, '--steps', String(steps), ...(threads ? ['--threads', String(threads)] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code === 0) return resolve(JSON.parse(line) as Measurement);
      } catch {
        // reported below
      }
      reject(new UserError(`bench: measuring ${network} on ${backend} failed (exit code ${code}${line ? `: ${line.slice(0, 200)}` : ''})`));
    });
  });
}
