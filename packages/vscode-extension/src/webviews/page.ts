/**
 * Webview page HTML with a strict Content-Security-Policy (pure, unit-tested without VS Code):
 * nothing loads by default; scripts only with this page's nonce, from the extension's own files;
 * images only from the webview or data: URIs; no network. No data is pasted into the page: it
 * arrives by postMessage after the page says `ready`.
 */
export interface PageOptions {
  /** `webview.cspSource`: the origin the webview serves the extension's files from. */
  cspSource: string;
  nonce: string;
  title: string;
  styles: string[];
  scripts: string[];
  body: string;
}

export function pageHtml(o: PageOptions): string {
  const csp = [`default-src 'none'`, `img-src ${o.cspSource} data:`, `style-src ${o.cspSource} 'unsafe-inline'`, `font-src ${o.cspSource}`, `script-src 'nonce-${o.nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${o.styles.map((s) => `<link rel="stylesheet" href="${s}">`).join('\n')}
<title>${o.title}</title></head>
<body>${o.body}
${o.scripts.map((s) => `<script nonce="${o.nonce}" src="${s}"></script>`).join('\n')}
</body></html>`;
}

/** A fresh nonce per page load (crypto-strength: it is what keeps injected scripts from running). */
export function makeNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('hex'); // 36 alphanumerics, always (base64 minus +/= could run short)
}
