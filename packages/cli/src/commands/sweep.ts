/** `keypoints sweep`: many runs from one spec, each trained by this CLI's own `train` in a process of its own. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import {
  compareRuns,
  deepMerge,
  expandSweep,
  ExitCode,
  findRuns,
  formatComparison,
  InputError,
  loadSweepFile,
  PresetName,
  resolveShard,
  runSweep,
  selectShard,
  sweepFromSets,
  trialStatus,
  UserError,
  type SweepEvent,
  type SweepSpec,
  type TrialLauncher,
} from '@keypoints/core';
import { backendOption, num } from '../program.js';
import { flagsToConfig } from './train.js';

export interface SweepFlags {
  set: string[];
  config?: string;
  out?: string;
  parallel?: number;
  shard?: string;
  shardCount?: number;
  timeLimit?: number;
  epochs?: number;
  data?: string;
  limit?: number;
  preset?: string;
  backend?: string;
  dryRun?: boolean;
}

/**
 * Trials that run side by side without slowing each other: each training process uses up to 4
 * threads (the wasm engine's cap), so one trial per 4 cores, and 1 on small machines.
 */
export function defaultParallel(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 4));
}

/** Spawns `node <this CLI> train …` detached (a terminal's Ctrl-C reaches it once, through us), output to a log. */
export const launchCli: TrialLauncher = (args, logFile) => {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...process.execArgv, path.resolve(process.argv[1]!), ...args], { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const exit = new Promise<number>((resolve) => {
    child.on('error', () => resolve(ExitCode.internal));
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.internal)));
  });
  return { exit, pid: child.pid, stop: () => void (child.exitCode === null && child.kill('SIGINT')) };
};

const fmt = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '?');

function printer(): (e: SweepEvent) => void {
  const say = (s: string) => process.stderr.write(s + '\n');
  return (e) => {
    if (e.type === 'plan') {
      const from = e.shard && e.shard.source !== `${e.shard.index}/${e.shard.total}` ? ` [${e.shard.source}]` : '';
      const part = e.shard ? `shard ${e.shard.index}/${e.shard.total}${from}: ${e.ids.length} of ${e.total} trials` : `${e.total} trials`;
      const left = e.ids.length - e.done.length;
      say(`sweep: ${part} in ${e.outDir}; ${e.done.length} already done, ${e.resume.length} to resume, ${left - e.resume.length} to start; ${e.parallel} at a time`);
    } else if (e.type === 'trialStart') {
      say(`[${e.position}/${e.count}] ${e.id}: ${e.resume ? 'resuming from its checkpoint' : 'training'} (log: ${path.join(e.dir, 'train.log')})`);
    } else {
      const s = e.summary;
      if (s && s.reason !== 'stopped') say(`  ${e.id}: ${s.reason}: val RMSE ${fmt(s.bestValRmse, 3)} px at epoch ${s.bestEpoch} of ${s.epochsRun}, ${fmt(s.minutes, 2)} min`);
      else if (e.exitCode === ExitCode.interrupted) say(`  ${e.id}: stopped; it resumes from its checkpoint when the sweep runs again`);
      else say(`  ${e.id}: failed (exit code ${e.exitCode}); see ${path.join(e.dir, 'train.log')}`);
    }
  };
}

/** The spec and the settings every trial shares: file ← --config ← fixed flags (trial values win over all). */
export async function loadSpec(file: string | undefined, flags: SweepFlags): Promise<{ spec: SweepSpec; base: Record<string, unknown>; source: string; name: string }> {
  if (file && flags.set.length) throw new UserError('give a sweep file or --set options, not both');
  if (!file && !flags.set.length) throw new UserError('nothing to sweep: give a *.sweep.json file or --set option=value1,value2 (e.g. --set train.learningRate=1e-3,5e-4)');
  const loaded = file ? await loadSweepFile(file) : { spec: sweepFromSets(flags.set), base: {} };
  let base = loaded.base;
  if (flags.config) {
    const text = await readFile(flags.config, 'utf8').catch(() => {
      throw new InputError({ file: flags.config! }, 'cannot read the config file');
    });
    let cfg: unknown;
    try {
      cfg = JSON.parse(text);
    } catch (err) {
      throw new InputError({ file: flags.config }, `not valid JSON: ${(err as Error).message}`);
    }
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new InputError({ file: flags.config }, 'expected a JSON object (a *.keypoints.json)');
    base = deepMerge(base, cfg as Record<string, unknown>);
  }
  base = deepMerge(base, flagsToConfig(flags));
  const name = loaded.spec.name ?? (file ? path.basename(file).replace(/(\.sweep)?\.json$/, '') : `sweep-${createHash('sha1').update(JSON.stringify([loaded.spec.parameters, base])).digest('hex').slice(0, 8)}`);
  return { spec: loaded.spec, base, source: file ?? '--set', name };
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('Train many runs that differ in a few options (grid or random search), each an ordinary run folder under one sweep folder; a stopped sweep resumes where it was.')
    .argument('[file]', 'a *.sweep.json (see `keypoints schema --sweep`); or use --set')
    .option('--set <option=values>', 'an option and the values to try, comma-separated (repeatable): --set train.learningRate=1e-3,5e-4', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--config <file>', 'a *.keypoints.json every trial starts from')
    .option('--out <dir>', 'sweep folder (default: sweeps/<name of the file>, or sweeps/sweep-<hash> for --set); run again with the same folder to resume')
    .option('--parallel <n>', `trials trained at once (default: one per 4 cores, here ${defaultParallel()})`, num('--parallel', { int: true, min: 1 }))
    .option('--shard <i/n|auto>', 'run only every n-th trial, starting with the i-th (a job of a job array); auto: from GitLab, Slurm, Kubernetes or AWS Batch variables')
    .option('--shard-count <n>', 'with --shard auto on Kubernetes Indexed Jobs and AWS Batch: how many shards (or set KEYPOINTS_SHARD_COUNT)', num('--shard-count', { int: true, min: 1 }))
    .option('--time-limit <minutes>', 'wall-clock budget of each trial', num('--time-limit', { min: 0.01 }))
    .option('--epochs <n>', 'maximum epochs of each trial', num('--epochs', { int: true, min: 1 }))
    .option('--data <file>', 'training data for every trial (as train --data)')
    .option('--limit <n>', 'use at most this many rows in every trial', num('--limit', { int: true, min: 1 }))
    .addOption(new Option('--preset <name>', 'network and recipe every trial starts from').choices(PresetName.options))
    .addOption(backendOption())
    .option('--dry-run', 'list the trials (and which this shard runs) without training')
    .action(async (file: string | undefined, flags: SweepFlags) => {
      const { spec, base, source, name } = await loadSpec(file, flags);
      const trials = expandSweep(spec, base, source);
      const shard = resolveShard(flags.shard, process.env, flags.shardCount);
      const outDir = flags.out ?? path.join('sweeps', name);
      if (flags.dryRun) {
        const mine = new Set(selectShard(trials, shard).map((t) => t.id));
        for (const t of trials) {
          const status = mine.has(t.id) ? await trialStatus(path.join(outDir, t.id)) : 'other shard';
          process.stdout.write(`${t.id}\t${status}\t${JSON.stringify(t.params)}\n`);
        }
        return;
      }
      const controller = new AbortController();
      const onSignal = () => {
        if (controller.signal.aborted) return;
        process.stderr.write('\nstopping the sweep: each running trial saves a checkpoint; run the same command again to resume\n');
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const result = await runSweep({ outDir, spec, trials, shard, parallel: flags.parallel ?? defaultParallel(), launch: launchCli, signal: controller.signal, onEvent: printer() });
        const mine = selectShard(trials, shard).map((t) => path.join(result.outDir, t.id));
        const done = [];
        for (const d of mine) if ((await trialStatus(d)) === 'done') done.push(d);
        if (done.length) process.stdout.write(formatComparison(compareRuns(await findRuns(done)), 'table'));
        if (result.stopped) process.exitCode = ExitCode.interrupted;
        else if (result.failed.length) {
          process.stderr.write(`keypoints: ${result.failed.length} trial(s) failed: ${result.failed.map((f) => `${f.id} (exit ${f.exitCode})`).join(', ')}; their train.log says why\n`);
          process.exitCode = result.failed[0]!.exitCode;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
