/** Commands on many runs: Compare Runs (from the Runs view's selection or a picker) and Run Sweep (a *.sweep.json through the server). */
import path from 'node:path';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import { showError } from './server';
import type { TrainerClient } from './server';
import { runRoots, listRunFolders, type RunsView, type RunsViewItem } from './runs-view';
import { showComparison } from './webviews/compare';

const SWEEP_RE = /\.sweep\.json$/i;

export function registerExperimentCommands(context: vscode.ExtensionContext, client: TrainerClient, runs: RunsView, tree: vscode.TreeView<RunsViewItem>): void {
  const reg = (id: string, fn: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  // From the view's context menu VS Code passes the clicked item and the whole selection; from the palette, the view's selection or a picker.
  reg('keypoints.compareRuns', async (clicked?: RunsViewItem, selected?: RunsViewItem[]) => {
    try {
      let items = selected?.length ? selected : clicked ? [clicked] : [...tree.selection];
      if (items.length < 2 && !(items.length === 1 && items[0]!.kind === 'sweep')) {
        const all = runRoots().flatMap((r) => listRunFolders(r, runs.running));
        if (all.length < 2 && !all.some((i) => i.kind === 'sweep')) throw new Error('comparing needs two runs or a sweep; train another run first');
        const picked = await vscode.window.showQuickPick(
          all.map((i) => ({ label: i.name, description: i.kind === 'sweep' ? `sweep · ${i.runs.length} runs` : [i.rmse !== undefined ? `${i.rmse.toFixed(2)} px` : '', i.state].filter(Boolean).join(' · '), item: i, picked: items.some((s) => s.dir === i.dir) })),
          { canPickMany: true, title: 'Keypoints: runs to compare' },
        );
        if (!picked?.length) return;
        items = picked.map((p) => p.item);
      }
      await showComparison(context, client, items.map((i) => i.dir));
    } catch (err) {
      showError(client.log, 'could not compare the runs', err);
    }
  });

  reg('keypoints.runSweep', async (arg?: vscode.Uri) => {
    try {
      const active = vscode.window.activeTextEditor?.document.uri;
      const file = arg?.fsPath ?? (active && SWEEP_RE.test(active.fsPath) ? active.fsPath : (await vscode.window.showOpenDialog({ title: 'Keypoints: sweep file', filters: { 'Keypoints sweep': ['json'] } }))?.[0]?.fsPath);
      if (!file) return;
      await runSweep(client, runs, file);
    } catch (err) {
      showError(client.log, 'the sweep failed', err);
    }
  });
}

/** Starts the sweep on the server and follows it in a cancellable progress notification until its `done` or `error`. */
async function runSweep(client: TrainerClient, runs: RunsView, file: string): Promise<void> {
  const conn = await client.connection();
  let finish!: (n: P.SweepNotification & { type: 'done' | 'error' }) => void;
  const ended = new Promise<P.SweepNotification & { type: 'done' | 'error' }>((resolve) => (finish = resolve));
  let report: ((m: string, increment?: number) => void) | undefined;
  let total = 0;
  const sub = conn.onNotification(P.SweepEventNotification, (e) => {
    if (e.type === 'done' || e.type === 'error') return finish(e);
    if (e.type === 'plan') {
      total = e.ids.length - e.done.length;
      client.log.info(`sweep ${e.outDir}: ${e.ids.length} trials, ${e.done.length} already done, ${e.resume.length} to resume, ${e.parallel} at a time`);
    } else if (e.type === 'trialStart') {
      client.log.info(`sweep: ${e.id} ${e.resume ? 'resumed' : 'started'} (${e.position}/${e.count})`);
      report?.(`${e.id} (${e.position}/${e.count})`);
    } else {
      const rmse = e.summary?.bestValRmse;
      client.log.info(`sweep: ${e.id} ended (exit ${e.exitCode})${typeof rmse === 'number' ? `: RMSE ${rmse.toFixed(3)} px` : ''}`);
      report?.(`${e.id} ended`, total ? 100 / total : 0);
    }
    runs.refresh();
  });
  try {
    const started = await conn.sendRequest(P.SweepStart, { file });
    client.log.info(`sweep ${file} → ${started.outDir} (${started.total} trials in this shard)`);
    runs.refresh();
    const end = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Keypoints: sweep ${path.basename(file)}`, cancellable: true },
      async (progress, token) => {
        report = (message, increment) => progress.report({ message, increment });
        token.onCancellationRequested(() => void conn.sendRequest(P.SweepStop, {}).then(() => client.log.info('sweep stopped: run it again to resume')));
        return ended;
      },
    );
    runs.refresh();
    if (end.type === 'error') throw new Error(end.message);
    const r = end.result;
    if (r.stopped) void vscode.window.showInformationMessage(`Keypoints: sweep stopped; Run Sweep again resumes it (${r.outDir}).`);
    else if (r.failed.length) throw new Error(`${r.failed.length} trial(s) failed: ${r.failed.map((f) => `${f.id} (exit ${f.exitCode})`).join(', ')}; their train.log says why`);
    else {
      const pick = await vscode.window.showInformationMessage(`Keypoints: sweep finished (${r.ran.length} trials in ${r.outDir}).`, 'Compare');
      if (pick) await vscode.commands.executeCommand('keypoints.compareRuns', { kind: 'sweep', dir: r.outDir, name: path.basename(r.outDir), mtimeMs: 0, runs: [] });
    }
  } finally {
    sub.dispose();
  }
}
