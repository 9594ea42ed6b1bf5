import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { FromWebview, ToWebview } from '../messages';
import type { TrainerClient } from '../server';
import { mediaRoots, webviewHtml } from './html';

/**
 * A read-only custom editor for PNG/JPEG images that shows the image with the keypoints the
 * newest model predicts, drawn as SVG over it (each point named on hover). The document is just
 * the file's URI; the webview says `ready` before the host sends the image and the points.
 */
export class OverlayEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'keypoints.overlay';

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: TrainerClient,
  ) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  async resolveCustomEditor(doc: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    panel.webview.options = { enableScripts: true, localResourceRoots: mediaRoots(this.context.extensionUri) };
    panel.webview.html = webviewHtml(panel.webview, this.context.extensionUri, {
      title: 'Keypoints overlay',
      scripts: ['overlay.js'],
      body: '<div id="label">predicting…</div><div id="stage"></div><div id="legend"></div>',
    });
    const send = (m: ToWebview) => void panel.webview.postMessage(m);
    const ready = new Promise<void>((resolve) => panel.webview.onDidReceiveMessage((m: FromWebview) => m.type === 'ready' && resolve()));
    // Return at once: the editor shows the page only after this resolves, and the page must load to say `ready`.
    void this.fill(doc, send, ready);
  }

  private async fill(doc: vscode.CustomDocument, send: (m: ToWebview) => void, ready: Promise<void>): Promise<void> {
    try {
      const [bytes, result] = await Promise.all([readFile(doc.uri.fsPath), this.client.connection().then((c) => c.sendRequest(P.Predict, { images: [doc.uri.fsPath] }))]);
      const r = result.results[0]!;
      const mime = bytes[0] === 0x89 ? 'image/png' : 'image/jpeg';
      await ready;
      send({ type: 'overlay/show', image: `data:${mime};base64,${bytes.toString('base64')}`, width: r.width, height: r.height, model: result.model, faces: r.faces.map((f) => f.keypoints) });
      this.client.log.info(`predicted ${r.faces.reduce((s, f) => s + f.keypoints.length, 0)} keypoints for ${doc.uri.fsPath} with ${result.model}`);
    } catch (err) {
      await ready;
      const message = (err as Error)?.message ?? String(err);
      this.client.log.error(`predict ${doc.uri.fsPath}: ${message}`);
      send({ type: 'overlay/error', message });
    }
  }
}
