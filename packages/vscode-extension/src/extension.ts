import * as vscode from 'vscode';
import { registerCommands } from './commands';
import type { CurvesState } from '@keypoints/core/protocol';
import { RunsView } from './runs-view';
import { registerExperimentCommands } from './experiments';
import { TrainerClient } from './server';
import { CurvesPanel } from './webviews/curves';
import { OverlayEditorProvider } from './webviews/overlay';

let client: TrainerClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Keypoints', { log: true });
  context.subscriptions.push(log);
  try {
    client = new TrainerClient(context, log);
    context.subscriptions.push(client);
    const overlays = new OverlayEditorProvider(context, client);
    registerCommands(context, client, overlays);
    const runs = new RunsView();
    const tree = vscode.window.createTreeView('keypoints.runs', { treeDataProvider: runs, canSelectMany: true });
    let training: string | undefined;
    context.subscriptions.push(
      runs,
      tree,
      vscode.commands.registerCommand('keypoints.refreshRuns', () => runs.refresh()),
      // The view follows training: the run appears as running, its state and RMSE change as it ends.
      client.onEvent((e) => {
        if (e.type === 'start') runs.running.add((training = e.runDir));
        if ((e.type === 'done' || e.type === 'error') && training) runs.running.delete(training);
        if (e.type === 'start' || e.type === 'epochEnd' || e.type === 'done' || e.type === 'error') runs.refresh();
      }),
    );
    registerExperimentCommands(context, client, runs, tree);
    // Shows the runs view (and the Refresh command) only in windows where the extension is active.
    void vscode.commands.executeCommand('setContext', 'keypoints.activated', true);
    context.subscriptions.push(
      vscode.window.registerCustomEditorProvider(OverlayEditorProvider.viewType, overlays, {
        webviewOptions: { retainContextWhenHidden: true },
      }),
      vscode.window.registerWebviewPanelSerializer(CurvesPanel.viewType, {
        deserializeWebviewPanel: async (panel, state: CurvesState | undefined) => CurvesPanel.revive(panel, context, client!, state),
      }),
    );
    log.info('Keypoints activated');
  } catch (err) {
    // Tell the user ourselves: a failed activation is otherwise silent.
    void vscode.window.showErrorMessage(`Keypoints failed to start: ${(err as Error).message}. See the output for details.`, 'Show Log').then((p) => p && log.show());
    log.error(`activation failed: ${(err as Error).stack ?? String(err)}`);
    throw err;
  }
}

export function deactivate(): void {
  client?.dispose();
  client = undefined;
}
