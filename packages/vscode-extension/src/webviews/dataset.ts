import path from 'node:path';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { ToDataset } from '@keypoints/core/protocol';
import { errorMessage } from '../format';
import type { TrainerClient } from '../server';
import { startPage } from './html';

/** A grid of a dataset's first faces with their labelled keypoints, and which keypoints rows miss. */
export async function showDatasetPreview(context: vscode.ExtensionContext, client: TrainerClient, file: string): Promise<void> {
  const panel = vscode.window.createWebviewPanel('keypoints.dataset', `Faces: ${path.basename(file)}`, vscode.ViewColumn.Active);
  const send = startPage<ToDataset>(panel.webview, context.extensionUri, {
    title: 'Dataset preview',
    scripts: ['webview/dataset.js'],
    body: '<h2 id="title">loading…</h2><div id="summary"></div><table id="missing"></table><div id="grid"></div>',
  });
  try {
    const conn = await client.connection();
    const [info, { samples }] = await Promise.all([conn.sendRequest(P.DatasetInfo, { path: file }), conn.sendRequest(P.DatasetSamples, { path: file, count: 24 })]);
    await send({ type: 'dataset/show', source: file, rows: info.rows, complete: info.complete, keypoints: info.keypoints, missing: info.missing, samples });
  } catch (err) {
    const message = errorMessage(err);
    client.log.error(`dataset preview ${file}: ${message}`);
    await send({ type: 'dataset/error', message });
  }
}
