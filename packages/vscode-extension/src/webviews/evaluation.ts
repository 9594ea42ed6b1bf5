/** The Evaluate command's result panel: summary, per-keypoint table and evaluate's three pictures. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { ToEvaluation } from '@keypoints/core/protocol';
import { evaluationSummary, evaluationTable } from '../evaluation';
import { errorMessage } from '../format';
import type { TrainerClient } from '../server';
import { startPage } from './html';

const dataUri = async (file: string | undefined) => (file ? `data:image/png;base64,${(await readFile(file)).toString('base64')}` : undefined);

/** Evaluates the newest model on `data` and shows the result in a panel; resolves with it, or rejects after the panel shows the error. */
export async function showEvaluation(context: vscode.ExtensionContext, client: TrainerClient, data: string): Promise<P.EvaluateResult> {
  const panel = vscode.window.createWebviewPanel('keypoints.evaluation', `Evaluate: ${path.basename(data)}`, vscode.ViewColumn.Active);
  const send = startPage<ToEvaluation>(panel.webview, context.extensionUri, {
    title: 'Evaluation',
    scripts: ['webview/evaluation.js'],
    body: '<h2 id="title">evaluating…</h2><div id="summary"></div><table id="table" class="compare"></table><div id="pictures"></div>',
  });
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Keypoints: evaluating' }, async () => (await client.connection()).sendRequest(P.Evaluate, { data }));
    const [perKeypoint, ced, worst] = await Promise.all([r.pictures?.perKeypoint, r.pictures?.ced, r.pictures?.worst].map(dataUri));
    await send({ type: 'evaluation/show', title: `${path.basename(r.model)} on ${path.basename(data)}`, summary: evaluationSummary(r, data), table: evaluationTable(r), pictures: { perKeypoint, ced, worst } });
    return r;
  } catch (err) {
    await send({ type: 'evaluation/error', message: errorMessage(err) });
    throw err;
  }
}
