/**
 * Runs a sweep's trials as ordinary run folders under one sweep folder, each trained by a process
 * the caller launches (the CLI spawns its own `train`), a few at a time; resumes a stopped sweep.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { InputError, UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Shard } from './shard.js';
import { selectShard } from './shard.js';
import type { SweepSpec, Trial } from './sweep.js';

/** The settings file each trial folder gets; `train --config` reads it. */
export const TRIAL_CONFIG = 'trial.keypoints.json';
/** The expanded sweep, written into the sweep folder by every shard (the same content). */
export const SWEEP_RECORD = 'sweep.json';

const exists = (p: string) => stat(p).then(() => true, () => false);

export type TrialStatus = 'done' | 'interrupted' | 'new';

/** done: summary.json says it ended (not stopped); interrupted: a checkpoint to resume; new: nothing to keep. */
export async function trialStatus(dir: string): Promise<TrialStatus> {
  try {
    const summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as { reason?: string };
    if (summary.reason !== 'stopped') return 'done';
  } catch {
    /* no summary yet */
  }
  if ((await exists(path.join(dir, 'checkpoint', 'state.json'))) || (await exists(path.join(dir, 'checkpoint.old', 'state.json')))) return 'interrupted';
  return 'new';
}

/** Starts one `keypoints` process with `args`, its output going to `logFile`; `pid` lets a later sweep see it still running. */
export type TrialLauncher = (args: string[], logFile: string) => { exit: Promise<number>; stop(): void; pid?: number };

/** Marks a trial folder as being trained by a process (removed when it ends). */
export const TRIAL_LOCK = '.trial-lock.json';

/**
 * A trial still trained by a process on this machine (its sweep was killed outright, and the
 * trial process lives on): training it again would have two processes writing one folder.
 */
async function checkNotRunning(dir: string): Promise<void> {
  let lock: { pid?: number; host?: string };
  try {
    lock = JSON.parse(await readFile(path.join(dir, TRIAL_LOCK), 'utf8'));
  } catch {
    return;
  }
  if (lock.host !== hostname() || typeof lock.pid !== 'number') return;
  try {
    process.kill(lock.pid, 0);
  } catch {
    return; // that process has ended
  }
  throw new UserError(`${dir}: still being trained by process ${lock.pid} (left running by a sweep that was killed?); let it finish or stop it (kill -INT ${lock.pid}), then run the sweep again`);
}

export type SweepEvent =
  | { type: 'plan'; outDir: string; total: number; shard?: Shard; ids: string[]; done: string[]; resume: string[]; parallel: number }
  | { type: 'trialStart'; id: string; dir: string; resume: boolean; position: number; count: number }
  | { type: 'trialEnd'; id: string; dir: string; exitCode: number; summary?: Record<string, unknown> };

export interface SweepOptions {
  outDir: string;
  spec: SweepSpec;
  trials: Trial[];
  shard?: Shard;
  parallel: number;
  launch: TrialLauncher;
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
}

export interface SweepResult {
  outDir: string;
  ran: string[];
  failed: Array<{ id: string; exitCode: number }>;
  stopped: boolean;
}

/** Refuses a folder that holds another sweep: the same id with other values would mix results. */
async function checkRecord(file: string, trials: Trial[]): Promise<void> {
  if (!(await exists(file))) return;
  let old: { trials?: Array<{ id: string; params: unknown }> };
  try {
    old = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InputError({ file }, `not valid JSON (${(err as Error).message})`);
  }
  const key = (t: { id: string; params: unknown }) => `${t.id} ${JSON.stringify(t.params)}`;
  const a = (old.trials ?? []).map(key).join('\n'), b = trials.map(key).join('\n');
  if (a !== b) throw new UserError(`${file}: this folder holds a different sweep (other trials or values); choose another --out, or delete the folder to start over`);
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const outDir = path.resolve(o.outDir);
  const record = path.join(outDir, SWEEP_RECORD);
  await checkRecord(record, o.trials);
  const mine = selectShard(o.trials, o.shard);
  for (const t of mine) await checkNotRunning(path.join(outDir, t.id));
  const status = await Promise.all(mine.map((t) => trialStatus(path.join(outDir, t.id))));
  await writeFileAtomic(record, JSON.stringify({ version: 1, spec: o.spec, trials: o.trials.map((t) => ({ id: t.id, params: t.params })) }, null, 2) + '\n');
  const todo = mine.filter((_, i) => status[i] !== 'done');
  o.onEvent?.({
    type: 'plan',
    outDir,
    total: o.trials.length,
    shard: o.shard,
    ids: mine.map((t) => t.id),
    done: mine.filter((_, i) => status[i] === 'done').map((t) => t.id),
    resume: mine.filter((_, i) => status[i] === 'interrupted').map((t) => t.id),
    parallel: o.parallel,
  });

  const result: SweepResult = { outDir, ran: [], failed: [], stopped: !!o.signal?.aborted };
  const running = new Set<{ stop(): void }>();
  const onAbort = () => {
    result.stopped = true;
    for (const r of running) r.stop();
  };
  o.signal?.addEventListener('abort', onAbort);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length && !o.signal?.aborted) {
      const trial = todo[next++]!;
      const dir = path.join(outDir, trial.id);
      const resume = (await trialStatus(dir)) === 'interrupted';
      // A fresh trial's settings file is rewritten (fixed flags may have changed); a resumed one keeps its config.json.
      if (!resume) await writeFileAtomic(path.join(dir, TRIAL_CONFIG), JSON.stringify(trial.settings, null, 2) + '\n');
      const args = resume ? ['train', '--resume', dir] : ['train', '--config', path.join(dir, TRIAL_CONFIG), '--out', dir];
      o.onEvent?.({ type: 'trialStart', id: trial.id, dir, resume, position: result.ran.length + 1, count: todo.length });
      result.ran.push(trial.id);
      const child = o.launch(args, path.join(dir, 'train.log'));
      running.add(child);
      if (child.pid !== undefined) await writeFileAtomic(path.join(dir, TRIAL_LOCK), JSON.stringify({ pid: child.pid, host: hostname() }) + '\n');
      const exitCode = await child.exit;
      running.delete(child);
      await rm(path.join(dir, TRIAL_LOCK), { force: true });
      let summary: Record<string, unknown> | undefined;
      try {
        summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8'));
      } catch {
        /* failed before the end */
      }
      // 5: diverged, a result like any other; 130: stopped by us, resumed next time.
      if (exitCode !== 0 && exitCode !== 5 && !(exitCode === 130 && result.stopped)) result.failed.push({ id: trial.id, exitCode });
      o.onEvent?.({ type: 'trialEnd', id: trial.id, dir, exitCode, summary });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel, todo.length)) }, worker));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  return result;
}
