import * as vscode from 'vscode';

export function nonce(): string {
  let s = '';
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (let i = 0; i < 32; i++) s += chars.charAt(Math.floor(Math.random() * chars.length));
  return s;
}

/**
 * A webview page with a strict Content-Security-Policy: scripts only from the extension's media/
 * folder with this page's nonce, images only from the webview itself or data: URIs; no data is
 * pasted into the HTML — it arrives by postMessage after the page says `ready`.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, opts: { title: string; scripts: string[]; body: string }): string {
  const n = nonce();
  const src = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', f));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource} data:; style-src ${webview.cspSource} 'unsafe-inline'; script-src 'nonce-${n}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${src('style.css')}">
<title>${opts.title}</title></head>
<body>${opts.body}
${opts.scripts.map((s) => `<script nonce="${n}" src="${src(s)}"></script>`).join('\n')}
</body></html>`;
}

export function mediaRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'media')];
}
