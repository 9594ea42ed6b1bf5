// `keypoints backends`: which compute backends work on this machine, which `auto` would take, and why.
import { Command } from 'commander';
import { listBackends } from '@keypoints/core';
import { jsonOption } from '../program.js';

export function registerBackends(program: Command): void {
  program
    .command('backends')
    .description('List the compute backends, whether each works here and why (a GPU needs tfjs-node-gpu or a WebGPU adapter), and which `--backend auto` takes.')
    .addOption(jsonOption())
    .action(async (flags: { json?: boolean }) => {
      const list = await listBackends();
      const pick = list.find((b) => b.auto);
      if (flags.json) {
        process.stdout.write(JSON.stringify({ backends: list, auto: pick?.name ?? null }) + '\n');
        return;
      }
      for (const b of list) process.stdout.write(`${b.available ? 'yes' : 'no '}  ${b.name.padEnd(14)} ${b.detail}\n`);
      process.stdout.write(`auto takes: ${pick?.name ?? 'none'}\n`);
    });
}
