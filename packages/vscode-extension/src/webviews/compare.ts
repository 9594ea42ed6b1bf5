/** The compare-runs panel: `keypoints compare` for runs picked in the Runs view, as a table and overlaid curves. */
import path from 'node:path';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { ToCompare } from '@keypoints/core/protocol';
import { errorMessage } from '../format';
import type { TrainerClient } from '../server';
import { startPage } from './html';

export async function showComparison(context: vscode.ExtensionContext, client: TrainerClient, dirs: string[]): Promise<void> {
  const panel = vscode.window.createWebviewPanel('keypoints.compare', `Compare: ${dirs.map((d) => path.basename(d)).join(', ')}`.slice(0, 60), vscode.ViewColumn.Active);
  const send = startPage<ToCompare>(panel.webview, context.extensionUri, {
    title: 'Compare runs',
    scripts: ['assets/plotly.min.js', 'webview/compare.js'],
    body: '<h2 id="title">comparing…</h2><table id="table" class="compare"></table><div id="rmse" class="plot"></div><div id="loss" class="plot"></div>',
  });
  try {
    const conn = await client.connection();
    const r = await conn.sendRequest(P.Compare, { dirs });
    // Curves in the table's order, so the legend reads like the table.
    const byDir = new Map(r.runs.map((run) => [run.dir, run]));
    const runs = r.comparison.rows.map((row) => byDir.get(row.dir)!).filter(Boolean);
    await send({ type: 'compare/show', cells: r.cells, runs });
    client.log.info(`compared ${runs.length} runs: ${dirs.join(', ')}`);
  } catch (err) {
    const message = errorMessage(err);
    client.log.error(`compare ${dirs.join(', ')}: ${message}`);
    await send({ type: 'compare/error', message });
  }
}
