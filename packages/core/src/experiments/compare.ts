/** Reads run and sweep folders from anywhere and tabulates them: the options that differ, then results. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, UserError } from '../errors.js';
import type { EpochMetrics } from '../train/events.js';
import { flattenOptions, shortNames } from './options.js';

type Json = Record<string, unknown>;

/** done: summary.json; stopped: summary.json says so (resumable); unfinished: a checkpoint but no summary yet. */
export type RunProgress = 'done' | 'stopped' | 'unfinished';

export interface RunRecord {
  dir: string;
  name: string;
  state: RunProgress;
  config: Json;
  summary?: Json;
  metrics: EpochMetrics[];
}

export interface CompareRow {
  name: string;
  dir: string;
  state: RunProgress;
  options: Json; // the differing options, by dotted path
  bestValLoss: number;
  valRmse: number;
  bestEpoch: number;
  epochs: number;
  minutes: number;
  imagesPerSecond: number;
}

export interface Comparison {
  /** Option paths that differ between the runs, in config order. */
  columns: string[];
  rows: CompareRow[];
}

const exists = (p: string) => stat(p).then(() => true, () => false);

async function readJson(file: string): Promise<Json> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Json;
  } catch (err) {
    throw new InputError({ file }, `not valid JSON (${(err as Error).message})`);
  }
}

async function readMetricsFile(dir: string): Promise<EpochMetrics[]> {
  const file = path.join(dir, 'metrics.jsonl');
  if (!(await exists(file))) return [];
  const lines = (await readFile(file, 'utf8')).split('\n');
  const out: EpochMetrics[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push(JSON.parse(l) as EpochMetrics);
    } catch {
      // The last line of a run killed mid-write may be cut; anything else is a broken file.
      if (i < lines.length - 1 && lines.slice(i + 1).some((x) => x.trim())) throw new InputError({ file, row: i + 1 }, 'not valid JSON');
    }
  });
  return out;
}

const isRun = async (dir: string) => (await exists(path.join(dir, 'summary.json'))) || (await exists(path.join(dir, 'config.json')));

/** One run folder. Without summary.json it must have a checkpoint (then it is an unfinished row), else it is an error. */
export async function readRun(dir: string): Promise<RunRecord> {
  const hasSummary = await exists(path.join(dir, 'summary.json'));
  const summary = hasSummary ? await readJson(path.join(dir, 'summary.json')) : undefined;
  if (!summary && !(await exists(path.join(dir, 'checkpoint', 'state.json'))) && !(await exists(path.join(dir, 'checkpoint.old', 'state.json')))) {
    throw new UserError(`${dir}: no summary.json and no checkpoint: the run has not finished an epoch (or failed); train it, resume it, or leave it out`);
  }
  if (!(await exists(path.join(dir, 'config.json')))) throw new UserError(`${dir}: no config.json: not a Keypoints run folder`);
  const config = await readJson(path.join(dir, 'config.json'));
  const state: RunProgress = !summary ? 'unfinished' : summary.reason === 'stopped' ? 'stopped' : 'done';
  return { dir, name: path.basename(dir), state, config, summary, metrics: await readMetricsFile(dir) };
}

/** Run folders at or under `dir` (a sweep folder, a shard's artifact, a folder of runs), sorted by path. */
async function runDirsUnder(dir: string, depth: number): Promise<string[]> {
  if (await isRun(dir)) return [dir];
  if (depth === 0) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const subs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('checkpoint') && e.name !== 'node_modules');
  const found = await Promise.all(subs.map((e) => runDirsUnder(path.join(dir, e.name), depth - 1)));
  return found.flat().sort();
}

/**
 * The runs named by `dirs`: each a run folder or a folder holding runs (a sweep, a merge of
 * shards' artifacts). The same folder given twice counts once; runs that share a folder name get
 * their parent's name in front.
 */
export async function findRuns(dirs: readonly string[]): Promise<RunRecord[]> {
  const all: string[] = [];
  for (const d of dirs) {
    if (!(await exists(d))) throw new UserError(`${d}: no such folder`);
    if (!(await stat(d)).isDirectory()) throw new UserError(`${d}: not a folder (give a run folder or a sweep folder)`);
    const found = await runDirsUnder(path.resolve(d), 4);
    if (!found.length) throw new UserError(`${d}: no runs here (a run folder holds summary.json and config.json; a sweep folder holds run folders)`);
    all.push(...found);
  }
  const unique = [...new Set(all)];
  const runs = await Promise.all(unique.map(readRun));
  const count = new Map<string, number>();
  for (const r of runs) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  for (const r of runs) if (count.get(r.name)! > 1) r.name = `${path.basename(path.dirname(r.dir))}/${r.name}`;
  return runs;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/** The comparison table: a column for each option whose value is not the same in every run, rows by RMSE. */
export function compareRuns(runs: readonly RunRecord[]): Comparison {
  const flat = runs.map((r) => flattenOptions(r.config));
  const paths: string[] = [];
  for (const f of flat) for (const k of Object.keys(f)) if (!paths.includes(k)) paths.push(k);
  const columns = paths.filter((p) => new Set(flat.map((f) => JSON.stringify(f[p]))).size > 1);
  const rows = runs.map((r, i): CompareRow => {
    const options = Object.fromEntries(columns.map((c) => [c, flat[i]![c]]));
    const s = r.summary;
    if (s && r.state === 'done') {
      return { name: r.name, dir: r.dir, state: r.state, options, bestValLoss: num(s.bestValLoss), valRmse: num(s.bestValRmse), bestEpoch: num(s.bestEpoch), epochs: num(s.epochsRun), minutes: s.minutes !== undefined ? num(s.minutes) : num(s.seconds) / 60, imagesPerSecond: num(s.imagesPerSecond) };
    }
    // Stopped or unfinished: the figures so far, from metrics.jsonl.
    const best = r.metrics.reduce<EpochMetrics | undefined>((b, m) => (Number.isFinite(m.valLoss) && (!b || m.valLoss < b.valLoss) ? m : b), undefined);
    const ips = r.metrics.map((m) => m.imagesPerSecond).filter(Number.isFinite);
    return {
      name: r.name,
      dir: r.dir,
      state: r.state,
      options,
      bestValLoss: best?.valLoss ?? NaN,
      valRmse: best?.valRmse ?? NaN,
      bestEpoch: best?.epoch ?? NaN,
      epochs: r.metrics.length,
      minutes: (r.metrics.at(-1)?.elapsedSeconds ?? NaN) / 60,
      imagesPerSecond: ips.length ? ips.reduce((a, b) => a + b, 0) / ips.length : NaN,
    };
  });
  rows.sort((a, b) => (Number.isFinite(a.valRmse) ? a.valRmse : Infinity) - (Number.isFinite(b.valRmse) ? b.valRmse : Infinity) || a.name.localeCompare(b.name));
  return { columns, rows };
}

export type CompareFormat = 'table' | 'md' | 'csv' | 'json';

const RESULT_HEADS = ['best val loss', 'val RMSE px', 'best epoch', 'epochs', 'minutes', 'images/s'];

function optionText(v: unknown): string {
  if (v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const fixed = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const prec = (v: number, d: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(d))) : '—');

/** Header and cells as text, shared by the table, Markdown and CSV outputs. */
export function comparisonCells(c: Comparison): { head: string[]; rows: string[][] } {
  const names = shortNames(c.columns);
  const withState = c.rows.some((r) => r.state !== 'done');
  const head = ['run', ...(withState ? ['state'] : []), ...c.columns.map((p) => names.get(p)!), ...RESULT_HEADS];
  const rows = c.rows.map((r) => [
    r.name,
    ...(withState ? [r.state] : []),
    ...c.columns.map((p) => optionText(r.options[p])),
    prec(r.bestValLoss, 4),
    fixed(r.valRmse, 3),
    fixed(r.bestEpoch, 0),
    fixed(r.epochs, 0),
    fixed(r.minutes, 2),
    fixed(r.imagesPerSecond, 1),
  ]);
  return { head, rows };
}

export function formatComparison(c: Comparison, format: CompareFormat): string {
  if (format === 'json') return JSON.stringify({ columns: c.columns, rows: c.rows }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
  const { head, rows } = comparisonCells(c);
  const firstResult = head.length - RESULT_HEADS.length;
  if (format === 'csv') {
    const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    return [head, ...rows].map((r) => r.map((s) => q(s === '—' ? '' : s)).join(',')).join('\n') + '\n';
  }
  if (format === 'md') {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    const align = head.map((_, i) => (i >= firstResult ? '---:' : '---'));
    return [head, align, ...rows].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n') + '\n';
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((s, i) => (i >= firstResult ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}
