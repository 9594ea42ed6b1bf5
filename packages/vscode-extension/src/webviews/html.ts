import * as vscode from 'vscode';
import type { FromWebview, ToWebview } from '@keypoints/core/protocol';
import { makeNonce, pageHtml } from './page';

/**
 * A webview page: style from media/, scripts from dist/ (`webview/*.js`, the bundled page scripts;
 * `assets/plotly.min.js`, shipped once for the panel and the server), each through asWebviewUri,
 * under the strict CSP of pageHtml.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, opts: { title: string; scripts: string[]; body: string }): string {
  const uri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  return pageHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    title: opts.title,
    styles: [uri('media', 'style.css')],
    scripts: opts.scripts.map((s) => uri('dist', ...s.split('/'))),
    body: opts.body,
  });
}

/** The only folders a webview may load from. */
export function mediaRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return ['media', 'dist/webview', 'dist/assets'].map((d) => vscode.Uri.joinPath(extensionUri, ...d.split('/')));
}

/**
 * Starts a page in `webview`: scripts on, loading only from mediaRoots, its HTML (webviewHtml), and
 * a typed `send` that holds each message until the page's script says `ready` (it has its
 * listener then: a message posted earlier is lost) and resolves once it is posted.
 */
export function startPage<M extends ToWebview>(webview: vscode.Webview, extensionUri: vscode.Uri, page: { title: string; scripts: string[]; body: string }, disposables?: vscode.Disposable[]): (m: M) => Promise<void> {
  webview.options = { enableScripts: true, localResourceRoots: mediaRoots(extensionUri) };
  const ready = new Promise<void>((resolve) => webview.onDidReceiveMessage((m: FromWebview) => m.type === 'ready' && resolve(), undefined, disposables));
  webview.html = webviewHtml(webview, extensionUri, page);
  return async (m) => {
    await ready;
    void webview.postMessage(m);
  };
}
