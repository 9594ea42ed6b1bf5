/** The "Keypoints Runs" explorer view: run folders and sweeps (their trials inside) with best RMSE and state, newest first. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { readSettings, resolvePath } from './config';

export type RunState = 'running' | 'done' | 'stopped';

export interface RunItem {
  kind: 'run';
  dir: string;
  name: string;
  mtimeMs: number;
  state: RunState;
  rmse?: number;
}

export interface SweepItem {
  kind: 'sweep';
  dir: string;
  name: string;
  mtimeMs: number;
  runs: RunItem[];
}

export type RunsViewItem = RunItem | SweepItem;

const mtime = (f: string) => (existsSync(f) ? statSync(f).mtimeMs : 0);

/**
 * A run folder's state: done or stopped as its summary.json says; without one it is running when
 * this window trains it or a sweep's trial process holds it (.trial-lock.json), else stopped
 * (a checkpoint to resume).
 */
function runItem(dir: string, running: ReadonlySet<string>): RunItem | undefined {
  const has = (f: string) => existsSync(path.join(dir, f));
  if (!has('config.json') || !(has('model.json') || has('specialists.json') || has('checkpoint') || has('summary.json'))) return undefined;
  let summary: { bestValRmse?: number | null; reason?: string } | undefined;
  try {
    summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  } catch {
    // still training, or stopped before the end
  }
  const state: RunState = running.has(path.resolve(dir)) || (!summary && has('.trial-lock.json')) ? 'running' : !summary || summary.reason === 'stopped' ? 'stopped' : 'done';
  const rmse = typeof summary?.bestValRmse === 'number' ? summary.bestValRmse : undefined;
  return { kind: 'run', dir, name: path.basename(dir), mtimeMs: Math.max(mtime(path.join(dir, 'config.json')), mtime(path.join(dir, 'model.json')), mtime(path.join(dir, 'summary.json'))), state, rmse };
}

/** Runs and sweeps (folders with a sweep.json) directly under `root`, newest first; none when it is missing. */
export function listRunFolders(root: string, running: ReadonlySet<string> = new Set()): RunsViewItem[] {
  if (!root || !existsSync(root)) return [];
  const items: RunsViewItem[] = [];
  for (const name of readdirSync(root)) {
    const dir = path.join(root, name);
    if (existsSync(path.join(dir, 'sweep.json'))) {
      const runs = listRunFolders(dir, running).filter((r): r is RunItem => r.kind === 'run');
      items.push({ kind: 'sweep', dir, name, mtimeMs: Math.max(mtime(path.join(dir, 'sweep.json')), ...runs.map((r) => r.mtimeMs)), runs });
      continue;
    }
    const run = runItem(dir, running);
    if (run) items.push(run);
  }
  return items.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/** Where the view looks: the runs folder, and `sweeps/` beside it (where Run Sweep and `keypoints sweep` write). */
export function runRoots(): string[] {
  const runs = resolvePath(readSettings().runsFolder);
  return runs ? [runs, path.join(path.dirname(runs), 'sweeps')] : [];
}

const best = (runs: RunItem[]) => Math.min(...runs.map((r) => r.rmse ?? Infinity));

export class RunsView implements vscode.TreeDataProvider<RunsViewItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Run folders this window is training now (absolute paths). */
  readonly running = new Set<string>();

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: RunsViewItem): vscode.TreeItem {
    if (item.kind === 'sweep') {
      const t = new vscode.TreeItem(item.name, vscode.TreeItemCollapsibleState.Collapsed);
      const b = best(item.runs);
      const active = item.runs.some((r) => r.state === 'running');
      t.description = [`${item.runs.length} runs`, Number.isFinite(b) ? `best ${b.toFixed(2)} px` : '', active ? 'running' : ''].filter(Boolean).join(' · ');
      t.tooltip = item.dir;
      t.iconPath = new vscode.ThemeIcon(active ? 'sync~spin' : 'beaker');
      t.contextValue = 'sweep';
      return t;
    }
    const t = new vscode.TreeItem(item.name, vscode.TreeItemCollapsibleState.None);
    t.description = [item.rmse !== undefined ? `${item.rmse.toFixed(2)} px` : '', item.state].filter(Boolean).join(' · ');
    t.tooltip = `${item.dir}\n${item.state}`;
    t.iconPath = new vscode.ThemeIcon(item.state === 'running' ? 'sync~spin' : item.state === 'stopped' ? 'debug-pause' : 'graph-line');
    t.contextValue = 'run';
    t.command = { command: 'keypoints.showCurves', title: 'Show Learning Curves', arguments: [item.dir] };
    return t;
  }

  getChildren(item?: RunsViewItem): RunsViewItem[] {
    if (item) return item.kind === 'sweep' ? item.runs : [];
    return runRoots().flatMap((root) => listRunFolders(root, this.running));
  }

  dispose(): void {
    this.changed.dispose();
  }
}
