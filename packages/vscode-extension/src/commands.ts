import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import { readSettings, resolvePath } from './config';
import { showError } from './server';
import type { TrainerClient } from './server';
import { CurvesPanel } from './webviews/curves';
import { showDatasetPreview } from './webviews/dataset';
import { trainingEventHandler } from './training-events';
import { PRESETS } from './generated-meta';
import type { OverlayEditorProvider } from './webviews/overlay';
import { showEvaluation } from './webviews/evaluation';

const DATA_RE = /\.(csv|csv\.gz|zip)$/i;

/** The dataset for a training run: the clicked file, the setting, the active file, or a picker. */
async function pickDataset(arg?: vscode.Uri): Promise<string | undefined> {
  if (arg && DATA_RE.test(arg.fsPath)) return arg.fsPath;
  const setting = readSettings().dataPath;
  if (setting) return resolvePath(setting);
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file' && DATA_RE.test(active.fsPath)) return active.fsPath;
  const picked = await vscode.window.showOpenDialog({
    title: 'Keypoints: training data (Kaggle training.csv, .csv.gz, .zip)',
    canSelectMany: false,
    filters: { 'Face keypoints': ['csv', 'gz', 'zip'] },
  });
  return picked?.[0]?.fsPath;
}

const IMAGE_RE = /\.(png|jpe?g)$/i;

/** The image in the active editor tab: an image preview, our overlay, or (rarely) a text editor. */
function activeImage(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : vscode.window.activeTextEditor?.document.uri;
  return uri && IMAGE_RE.test(uri.path) ? uri : undefined;
}

/** One factory per command, so each is small and testable on its own. */
export function registerCommands(context: vscode.ExtensionContext, client: TrainerClient, overlays: OverlayEditorProvider): void {
  const reg = (id: string, fn: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  let progressDone: (() => void) | undefined;

  // Live state from training events: status bar, progress notification with cancel, one message per failure.
  context.subscriptions.push(
    client.onEvent(
      trainingEventHandler({
        setState: (st) => client.setState(st),
        log: client.log,
        showError: (what, message) => showError(client.log, what, message),
        progressDone: () => progressDone?.(),
      }),
    ),
  );
  reg('keypoints.train', async (arg?: vscode.Uri) => {
    try {
      const data = await pickDataset(arg);
      if (data === undefined) return;
      const settings = readSettings();
      const preset = await vscode.window.showQuickPick(
        PRESETS.map((p) => ({ label: p.name, description: p.summary })).sort((a, b) => (a.label === settings.preset ? -1 : b.label === settings.preset ? 1 : 0)),
        { title: 'Keypoints: preset', placeHolder: `train on ${data}` },
      );
      if (!preset) return;
      const conn = await client.connection();
      CurvesPanel.createOrShow(context, client); // before the run starts, so it sees every epoch
      const config: Record<string, unknown> = { preset: preset.label, backend: settings.backend };
      if (settings.timeLimitMinutes > 0) config.train = { timeLimitMinutes: settings.timeLimitMinutes };
      const { runDir } = await conn.sendRequest(P.TrainStart, { config, dataPath: data, configFile: settings.configFile ? resolvePath(settings.configFile) : undefined });
      client.log.info(`training ${preset.label} on ${data} into ${runDir}`);
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Keypoints: training ${preset.label}`, cancellable: true }, (progress, token) => {
        token.onCancellationRequested(() => void vscode.commands.executeCommand('keypoints.stop'));
        const sub = client.onEvent((e) => {
          if (e.type === 'epochEnd') progress.report({ message: `epoch ${e.epoch}/${e.epochs || '?'}: validation RMSE ${e.valRmse.toFixed(2)} px`, increment: e.epochs ? 100 / e.epochs : 0 });
        });
        return new Promise<void>((resolve) => (progressDone = () => (sub.dispose(), resolve())));
      });
    } catch (err) {
      showError(client.log, 'could not start training', err);
    }
  });

  reg('keypoints.stop', async () => {
    try {
      const r = await (await client.connection()).sendRequest(P.TrainStop, {});
      void vscode.window.showInformationMessage(r.stopped ? `Keypoints: stopped; the checkpoint in ${r.runDir} can be resumed.` : 'Keypoints: nothing is training.');
    } catch (err) {
      showError(client.log, 'could not stop training', err);
    }
  });

  reg('keypoints.showCurves', async (runDir?: string) => {
    try {
      const panel = CurvesPanel.createOrShow(context, client);
      if (typeof runDir === 'string') await panel.showRun(runDir); // from the runs view
      else if (!panel.currentRun) {
        const { runs } = await (await client.connection()).sendRequest(P.RunsList, {});
        if (runs[0]) await panel.showRun(runs[0].dir);
      }
    } catch (err) {
      showError(client.log, 'could not show the learning curves', err);
    }
  });

  reg('keypoints.evaluate', async (arg?: vscode.Uri) => {
    try {
      const data = await pickDataset(arg);
      if (!data) return;
      const r = await showEvaluation(context, client, data);
      client.log.info(`evaluate ${r.model} on ${data}: RMSE ${r.rmse.toFixed(3)} px over ${r.count} coordinates, NME ${(r.nme * 100).toFixed(2)} %`);
      for (const [k, v] of Object.entries(r.perKeypoint)) client.log.info(`  ${k}: ${v.rmse.toFixed(3)} px, NME ${(v.nme * 100).toFixed(2)} % (${v.count})`);
      if (r.pictures) client.log.info(`pictures: ${Object.values(r.pictures).join(', ')}`);
    } catch (err) {
      showError(client.log, 'evaluation failed', err);
    }
  });

  // From the palette: an image (the active one, else a picker), then the model (newest first).
  reg('keypoints.predict', async (arg?: vscode.Uri) => {
    try {
      const uri = arg ?? activeImage() ?? (await vscode.window.showOpenDialog({ title: 'Keypoints: image to predict', filters: { Images: ['png', 'jpg', 'jpeg'] } }))?.[0];
      if (!uri) return;
      const { runs } = await (await client.connection()).sendRequest(P.RunsList, {});
      const models = runs.filter((r) => r.hasModel);
      // The ready model is always offered (last), so Predict works before any training.
      const pick = await vscode.window.showQuickPick(
        [
          ...models.map((r, i) => ({
            label: r.name,
            description: [i === 0 ? 'newest' : '', r.preset, r.bestValRmse !== undefined ? `${r.bestValRmse.toFixed(2)} px` : 'unfinished'].filter(Boolean).join(' · '),
            dir: r.dir,
          })),
          { label: P.READY_MODEL, description: "ready model: face-api's landmark network calibrated on faces96, no training", dir: P.READY_MODEL },
        ],
        { title: `Keypoints: model for ${vscode.workspace.asRelativePath(uri)}` },
      );
      if (pick) await overlays.show(uri, pick.dir);
    } catch (err) {
      showError(client.log, 'could not predict', err);
    }
  });
  // From the explorer's context menu and the editor title (titled "Keypoints: Predict" there, as
  // menus do not show the category): the newest model, no questions; before any training the
  // server answers with the ready model (face-api-68-calibrated) and the overlay names it.
  reg('keypoints.predictFile', async (arg?: vscode.Uri) => {
    const uri = arg ?? activeImage();
    if (uri) await overlays.show(uri);
  });

  reg('keypoints.previewDataset', async (arg?: vscode.Uri) => {
    const file = arg?.fsPath ?? (await pickDataset());
    if (file) await showDatasetPreview(context, client, file);
  });

  reg('keypoints.showLog', () => client.log.show());
  reg('keypoints.restartServer', async () => {
    try {
      await client.restart();
    } catch (err) {
      showError(client.log, 'could not restart the trainer server', err);
    }
  });
}
