/** The "Keypoints Runs" explorer view: the run folders under keypoints.runsFolder, newest first (its welcome view shows when there are none). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { readSettings, resolvePath } from './config';

interface Run {
  dir: string;
  name: string;
  mtimeMs: number;
  rmse?: number;
}

/** Run folders (those holding a model.json) under `root`, newest first; none when the folder is missing. */
export function listRunFolders(root: string): Run[] {
  if (!root || !existsSync(root)) return [];
  const runs: Run[] = [];
  for (const name of readdirSync(root)) {
    const dir = path.join(root, name);
    const model = path.join(dir, 'model.json');
    if (!existsSync(model)) continue;
    let rmse: number | undefined;
    try {
      rmse = (JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { bestValRmse?: number }).bestValRmse;
    } catch {
      // a run still training (or stopped early) has no summary yet
    }
    runs.push({ dir, name, mtimeMs: statSync(model).mtimeMs, rmse });
  }
  return runs.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

export class RunsView implements vscode.TreeDataProvider<Run>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(run: Run): vscode.TreeItem {
    const item = new vscode.TreeItem(run.name, vscode.TreeItemCollapsibleState.None);
    item.description = run.rmse !== undefined ? `${run.rmse.toFixed(2)} px` : undefined;
    item.tooltip = run.dir;
    item.iconPath = new vscode.ThemeIcon('graph-line');
    item.command = { command: 'keypoints.showCurves', title: 'Show Learning Curves', arguments: [run.dir] };
    return item;
  }

  getChildren(run?: Run): Run[] {
    return run ? [] : listRunFolders(resolvePath(readSettings().runsFolder));
  }

  dispose(): void {
    this.changed.dispose();
  }
}
