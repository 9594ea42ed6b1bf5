import path from 'node:path';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { FromWebview, ToDataset } from '@keypoints/core/protocol';
import type { TrainerClient } from '../server';
import { mediaRoots, webviewHtml } from './html';

/** A grid of a dataset's first faces with their labelled keypoints, and which keypoints rows miss. */
export async function showDatasetPreview(context: vscode.ExtensionContext, client: TrainerClient, file: string): Promise<void> {
  const panel = vscode.window.createWebviewPanel('keypoints.dataset', `Faces: ${path.basename(file)}`, vscode.ViewColumn.Active, {
    enableScripts: true,
    localResourceRoots: mediaRoots(context.extensionUri),
  });
  panel.webview.html = webviewHtml(panel.webview, context.extensionUri, {
    title: 'Dataset preview',
    scripts: ['webview/dataset.js'],
    body: '<h2 id="title">loading…</h2><div id="summary"></div><table id="missing"></table><div id="grid"></div>',
  });
  const ready = new Promise<void>((resolve) => panel.webview.onDidReceiveMessage((m: FromWebview) => m.type === 'ready' && resolve()));
  const send = (m: ToDataset) => void panel.webview.postMessage(m);
  try {
    const conn = await client.connection();
    const [info, { samples }] = await Promise.all([conn.sendRequest(P.DatasetInfo, { path: file }), conn.sendRequest(P.DatasetSamples, { path: file, count: 24 })]);
    await ready;
    send({ type: 'dataset/show', source: file, rows: info.rows, complete: info.complete, keypoints: info.keypoints, missing: info.missing, samples });
  } catch (err) {
    await ready;
    const message = (err as Error)?.message ?? String(err);
    client.log.error(`dataset preview ${file}: ${message}`);
    send({ type: 'dataset/error', message });
  }
}
