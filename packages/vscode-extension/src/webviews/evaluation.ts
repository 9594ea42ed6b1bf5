/** The Evaluate command's result panel: summary, per-keypoint table and evaluate's three pictures. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { FromWebview, ToEvaluation } from '@keypoints/core/protocol';
import { evaluationSummary, evaluationTable } from '../evaluation';
import type { TrainerClient } from '../server';
import { mediaRoots, webviewHtml } from './html';

const dataUri = async (file: string | undefined) => (file ? `data:image/png;base64,${(await readFile(file)).toString('base64')}` : undefined);

/** Evaluates the newest model on `data` and shows the result in a panel; resolves with it, or rejects after the panel shows the error. */
export async function showEvaluation(context: vscode.ExtensionContext, client: TrainerClient, data: string): Promise<P.EvaluateResult> {
  const panel = vscode.window.createWebviewPanel('keypoints.evaluation', `Evaluate: ${path.basename(data)}`, vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: mediaRoots(context.extensionUri),
  });
  panel.webview.html = webviewHtml(panel.webview, context.extensionUri, {
    title: 'Evaluation',
    scripts: ['webview/evaluation.js'],
    body: '<h2 id="title">evaluating…</h2><div id="summary"></div><table id="table" class="compare"></table><div id="pictures"></div>',
  });
  const ready = new Promise<void>((resolve) => panel.webview.onDidReceiveMessage((m: FromWebview) => m.type === 'ready' && resolve()));
  const send = (m: ToEvaluation) => void panel.webview.postMessage(m);
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Keypoints: evaluating' }, async () => (await client.connection()).sendRequest(P.Evaluate, { data }));
    const [perKeypoint, ced, worst] = await Promise.all([r.pictures?.perKeypoint, r.pictures?.ced, r.pictures?.worst].map(dataUri));
    await ready;
    send({ type: 'evaluation/show', title: `${path.basename(r.model)} on ${path.basename(data)}`, summary: evaluationSummary(r, data), table: evaluationTable(r), pictures: { perKeypoint, ced, worst } });
    return r;
  } catch (err) {
    await ready;
    const message = (err as Error)?.message ?? String(err);
    send({ type: 'evaluation/error', message });
    throw err;
  }
}
