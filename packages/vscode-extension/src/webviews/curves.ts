import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import type { EpochMetrics } from '@keypoints/core';
import type { CurvesState, ToCurves } from '@keypoints/core/protocol';
import type { TrainerClient } from '../server';
import { startPage } from './html';

/**
 * The learning-curves panel: one at a time (createOrShow), Plotly shipped in the extension,
 * live points from the server's epochEnd events, restored after a reload by a serializer that
 * re-reads the run's metrics.jsonl.
 */
export class CurvesPanel {
  static readonly viewType = 'keypoints.curves';
  private static current?: CurvesPanel;
  private readonly send: (m: ToCurves) => Promise<void>;
  private runDir?: string;
  private metrics: EpochMetrics[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  static createOrShow(context: vscode.ExtensionContext, client: TrainerClient): CurvesPanel {
    if (CurvesPanel.current) {
      CurvesPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return CurvesPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(CurvesPanel.viewType, 'Keypoints: Learning Curves', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { retainContextWhenHidden: true });
    CurvesPanel.current = new CurvesPanel(panel, context, client);
    return CurvesPanel.current;
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, client: TrainerClient, state: CurvesState | undefined): void {
    CurvesPanel.current = new CurvesPanel(panel, context, client);
    if (state?.runDir) void CurvesPanel.current.showRun(state.runDir);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    client: TrainerClient,
  ) {
    this.send = startPage<ToCurves>(panel.webview, context.extensionUri, {
      title: 'Learning curves',
      scripts: ['assets/plotly.min.js', 'webview/curves.js'],
      body: `<h2 id="title">Learning curves</h2><div id="status">waiting for a training run…</div>
<div id="loss" class="plot"></div><div class="pair"><div id="rmse" class="plot"></div><div id="lr" class="plot"></div></div>`,
    }, this.disposables);
    client.onEvent((e) => {
      if (e.type === 'start') this.reset(e.runDir, []);
      if (e.type === 'epochEnd') {
        this.metrics.push(e);
        this.post({ type: 'curves/epoch', metrics: e });
      }
      if (e.type === 'done') this.post({ type: 'curves/status', text: `done (${e.reason}): best epoch ${e.bestEpoch}, validation RMSE ${e.bestValRmse.toFixed(3)} px` });
      if (e.type === 'error') this.post({ type: 'curves/status', text: `error: ${e.message}` });
    }, undefined, this.disposables);
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
  }

  private post(m: ToCurves): void {
    void this.send(m);
  }

  private reset(runDir: string, metrics: EpochMetrics[]): void {
    this.runDir = runDir;
    this.metrics = [...metrics];
    this.post({ type: 'curves/reset', runDir, title: path.basename(runDir), metrics });
  }

  /** Shows a finished or running run from its metrics.jsonl. */
  async showRun(runDir: string): Promise<void> {
    let metrics: EpochMetrics[] = [];
    try {
      metrics = (await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as EpochMetrics);
    } catch {
      /* a run that has not finished an epoch yet */
    }
    this.reset(runDir, metrics);
  }

  get currentRun(): string | undefined {
    return this.runDir;
  }

  dispose(): void {
    if (CurvesPanel.current === this) CurvesPanel.current = undefined;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
