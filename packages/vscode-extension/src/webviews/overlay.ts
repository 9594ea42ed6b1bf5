import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import * as P from '@keypoints/core/protocol';
import type { ToOverlay } from '@keypoints/core/protocol';
import { errorMessage } from '../format';
import type { TrainerClient } from '../server';
import { startPage } from './html';

/**
 * A read-only custom editor for PNG/JPEG images that shows the image with the keypoints a model
 * predicts (the newest run's, or one chosen with "Keypoints: Predict"), drawn as SVG over it, each
 * point named on hover. The document is just the file's URI; the webview says `ready` before the
 * host sends the image and the points.
 */
export class OverlayEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'keypoints.overlay';
  /** Open overlays by file, to re-predict in place when another model is chosen. */
  private readonly open = new Map<string, (m: ToOverlay) => Promise<void>>();
  /** The model chosen for a file that is about to open (undefined: the newest run). */
  private readonly chosen = new Map<string, string>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: TrainerClient,
  ) {}

  /** Opens (or refreshes) the overlay of `uri` with `model`, or the newest model. */
  async show(uri: vscode.Uri, model?: string): Promise<void> {
    if (model) this.chosen.set(uri.toString(), model);
    else this.chosen.delete(uri.toString());
    const existing = this.open.get(uri.toString());
    if (existing) void this.fill(uri, existing, model);
    await vscode.commands.executeCommand('vscode.openWith', uri, OverlayEditorProvider.viewType);
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => {} };
  }

  async resolveCustomEditor(doc: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const send = startPage<ToOverlay>(panel.webview, this.context.extensionUri, {
      title: 'Keypoints overlay',
      scripts: ['webview/overlay.js'],
      body: '<div id="label">predicting…</div><div id="stage"></div><div id="legend"></div>',
    });
    const key = doc.uri.toString();
    this.open.set(key, send);
    panel.onDidDispose(() => this.open.delete(key));
    // Return at once: the editor shows the page only after this resolves, and the page must load to say `ready`.
    void this.fill(doc.uri, send, this.chosen.get(key));
  }

  private async fill(uri: vscode.Uri, send: (m: ToOverlay) => Promise<void>, model?: string): Promise<void> {
    try {
      const [bytes, result] = await Promise.all([readFile(uri.fsPath), this.client.connection().then((c) => c.sendRequest(P.Predict, { images: [uri.fsPath], model }))]);
      const r = result.results[0]!;
      const mime = bytes[0] === 0x89 ? 'image/png' : 'image/jpeg';
      const boxes = r.faces.map((f) => (f.detection ? { ...f.detection, score: f.score ?? 0 } : null));
      await send({ type: 'overlay/show', image: `data:${mime};base64,${bytes.toString('base64')}`, width: r.width, height: r.height, model: result.model, faces: r.faces.map((f) => f.keypoints), boxes, detected: r.detected });
      if (r.detected && r.faces.length === 0) this.client.log.warn(`predict ${uri.fsPath}: the face detector found no face (${result.model})`);
      else this.client.log.info(`predicted ${r.faces.reduce((s, f) => s + f.keypoints.length, 0)} keypoints on ${r.faces.length} face(s) in ${uri.fsPath} with ${result.model}`);
    } catch (err) {
      const message = errorMessage(err);
      this.client.log.error(`predict ${uri.fsPath}: ${message}`);
      await send({ type: 'overlay/error', message });
    }
  }
}
