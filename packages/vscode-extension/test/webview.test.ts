import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { keypointColour } from '../webview/api.ts';
import { makeNonce, pageHtml } from '../src/webviews/page.ts';

const page = () =>
  pageHtml({
    cspSource: 'https://x.vscode-cdn.net',
    nonce: 'N0NCE',
    title: 'T',
    styles: ['https://x.vscode-cdn.net/media/style.css'],
    scripts: ['https://x.vscode-cdn.net/dist/assets/plotly.min.js', 'https://x.vscode-cdn.net/dist/webview/curves.js'],
    body: '<div id="loss"></div>',
  });

test('webview pages: strict CSP, every script carries the nonce, nothing inline or from elsewhere', () => {
  const html = page();
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0], d.split(/\s+/).slice(1)]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.deepEqual(directives['script-src'], ["'nonce-N0NCE'"]);
  assert.ok(!csp.includes('unsafe-eval') && !/script-src[^;]*unsafe-inline/.test(csp));
  const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!);
  assert.equal(scripts.length, 2);
  for (const s of scripts) assert.match(s, /nonce="N0NCE" src="https:\/\/x\.vscode-cdn\.net\//);
  assert.ok(!/<script nonce="N0NCE">/.test(html), 'no inline script');
});

test('nonces are fresh and long', () => {
  const a = makeNonce(), b = makeNonce();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9]{20,}$/);
});

test('keypoint colours follow the subject\u2019s sides in Kaggle names', () => {
  assert.equal(keypointColour('left_eye_center'), '#00e676');
  assert.equal(keypointColour('mouth_right_corner'), '#ff4081');
  assert.equal(keypointColour('nose_tip'), '#ffd600');
  assert.equal(keypointColour('eyeleft'), '#ffd600', 'a word part is not a side');
});

test('the webview scripts ship with the extension: plotly from the package, never a CDN', () => {
  const dir = path.resolve(import.meta.dirname, '..');
  const ignore = readFileSync(path.join(dir, '.vscodeignore'), 'utf8').split('\n');
  assert.ok(!ignore.some((l) => /^dist\/?(\*\*)?$|^dist\/webview/.test(l.trim())), 'dist/webview is packaged');
  for (const f of ['curves.ts', 'overlay.ts', 'dataset.ts', 'compare.ts', 'evaluation.ts', 'api.ts']) assert.doesNotMatch(readFileSync(path.join(dir, 'webview', f), 'utf8'), /https?:\/\/(?!www\.w3\.org)/);
});
