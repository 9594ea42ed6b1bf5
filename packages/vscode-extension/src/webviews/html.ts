import * as vscode from 'vscode';
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
