/**
 * The documentation site: every page opens in headless Chromium without page errors or requests
 * leaving this machine, and every internal link (and #anchor) resolves. Builds apps/docs when its
 * dist is missing. Without playwright-core (installed by test/e2e/setup.sh) or /usr/bin/chromium it
 * falls back to fetching each page's HTML and checking the links found in it, and says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'apps/docs/dist');
const CHROMIUM = process.env.KEYPOINTS_CHROMIUM ?? '/usr/bin/chromium';
const CACHE = process.env.KEYPOINTS_E2E_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'keypoints-e2e');
const PW_CORE = path.join(CACHE, 'tools/node_modules/playwright-core');

/** Pages the site must have: the guides and the generated references. */
const REQUIRED = [
  'index.html',
  'guide/getting-started.html',
  'guide/kaggle.html',
  'guide/vscode.html',
  'guide/how-it-works.html',
  'guide/experiments.html',
  'guide/backends.html',
  'guide/performance.html',
  'guide/architecture.html',
  'guide/limits.html',
  'reference/cli.html',
  'reference/config.html',
  'reference/protocol.html',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** A minimal static file server for dist, like any web server would serve it at `/`. */
function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let file = path.join(dir, decodeURIComponent(url.pathname));
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!existsSync(file)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function htmlFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) return r === 'assets' ? [] : htmlFiles(dir, r);
    return e.name.endsWith('.html') && r !== '404.html' ? [r] : [];
  });
}

interface PageFacts {
  links: string[]; // absolute URLs of a[href], img[src], link[href], script[src]
  ids: Set<string>;
  errors: string[];
}

// The parts of playwright-core this test uses (it is loaded from a cache outside the repository).
interface PwPage {
  on(event: 'pageerror', fn: (e: Error) => void): void;
  on(event: 'console', fn: (m: { type(): string; text(): string }) => void): void;
  on(event: 'response', fn: (r: { status(): number; url(): string }) => void): void;
  route(pattern: string, fn: (route: { request(): { url(): string }; abort(): Promise<void>; continue(): Promise<void> }) => Promise<void>): Promise<void>;
  goto(url: string, opts: { waitUntil: 'load' | 'networkidle'; timeout: number }): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}
interface PwBrowser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}
interface PwCore {
  chromium: { launch(opts: { executablePath: string; headless: boolean; args: string[]; timeout: number }): Promise<PwBrowser> };
}

async function loadPlaywright(): Promise<PwCore | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  if (!existsSync(path.join(PW_CORE, 'package.json'))) return `no playwright-core at ${PW_CORE} (bash test/e2e/setup.sh installs it)`;
  try {
    const mod = (await import(pathToFileURL(path.join(PW_CORE, 'index.mjs')).href)) as PwCore & { default?: PwCore };
    return mod.chromium ? mod : mod.default!;
  } catch (err) {
    return `playwright-core failed to load: ${(err as Error).message}`;
  }
}

/** Opens a page in Chromium; records page errors, console errors, failed same-origin responses and any request off this machine. */
async function factsFromBrowser(browser: PwBrowser, url: string, origin: string): Promise<PageFacts> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console error: ${m.text()}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} for ${r.url()}`));
  await page.route('**/*', async (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    errors.push(`request leaving the machine: ${u}`);
    return route.abort();
  });
  try {
    await page.goto(url, { waitUntil: 'networkidle', timeout: 20_000 });
    // Run in the page (a string, since this project's TypeScript has no DOM types): links after hydration, ids, the h1.
    const found = await page.evaluate<{ links: string[]; ids: string[]; h1: string }>(`(() => ({
      links: [
        ...Array.from(document.querySelectorAll('a[href]'), (a) => a.href),
        ...Array.from(document.querySelectorAll('img[src]'), (i) => i.src),
        ...Array.from(document.querySelectorAll('link[href]'), (l) => l.href),
        ...Array.from(document.querySelectorAll('script[src]'), (s) => s.src),
      ],
      ids: Array.from(document.querySelectorAll('[id]'), (e) => e.id),
      h1: document.querySelector('h1')?.textContent ?? '',
    }))()`);
    if (!found.h1.trim() && !url.endsWith('/')) errors.push('no <h1> rendered');
    return { links: found.links, ids: new Set(found.ids), errors };
  } finally {
    await page.close();
  }
}

/** Fallback without a browser: the server-rendered HTML VitePress writes holds the same links and ids. */
async function factsFromHtml(url: string): Promise<PageFacts> {
  const res = await fetch(url);
  const html = await res.text();
  const errors = res.status === 200 ? [] : [`HTTP ${res.status}`];
  const attr = (re: RegExp) => Array.from(html.matchAll(re), (m) => m[1]!.replace(/&amp;/g, '&'));
  const links = [...attr(/<a\b[^>]*\shref="([^"]*)"/g), ...attr(/<img\b[^>]*\ssrc="([^"]*)"/g), ...attr(/<link\b[^>]*\shref="([^"]*)"/g), ...attr(/<script\b[^>]*\ssrc="([^"]*)"/g)]
    .filter((h) => !h.startsWith('javascript:'))
    .map((h) => new URL(h, url).href);
  return { links, ids: new Set(attr(/\sid="([^"]*)"/g)), errors };
}

describe('documentation site', () => {
  let server: Server;
  let origin = '';
  let mode = '';
  const facts = new Map<string, PageFacts>(); // by path relative to dist, e.g. guide/kaggle.html

  before(async () => {
    if (!existsSync(path.join(DIST, 'index.html'))) {
      console.log('# docs: apps/docs/dist missing, building it (npm run docs)');
      const r = spawnSync('npm', ['run', 'docs'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `npm run docs failed:\n${r.stdout}\n${r.stderr}`);
    }
    server = await serve(DIST);
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server?.close());

  test('has every guide and generated reference page', () => {
    const pages = new Set(htmlFiles(DIST));
    for (const p of REQUIRED) assert.ok(pages.has(p), `apps/docs/dist/${p} is missing`);
    // Generated pages carry what the code defines, e.g. every CLI command and the config sections.
    const cli = readFileSync(path.join(DIST, 'reference/cli.html'), 'utf8');
    for (const cmd of ['train', 'evaluate', 'predict', 'submit', 'bench', 'schema', 'serve']) assert.match(cli, new RegExp(`id="keypoints-${cmd}"`), `CLI reference lacks ${cmd}`);
    assert.match(cli, /--max-rmse/);
    const config = readFileSync(path.join(DIST, 'reference/config.html'), 'utf8');
    for (const field of ['train.learningRate', 'train.schedule.type', 'model.conv[].filters', 'data.missing']) assert.ok(config.includes(field), `config reference lacks ${field}`);
  });

  test('every page loads without errors and every internal link resolves', async (t) => {
    const pages = htmlFiles(DIST);
    const pw = await loadPlaywright();
    let browser: PwBrowser | undefined;
    if (typeof pw === 'string') {
      mode = `HTML fallback (${pw}): links parsed from the served HTML, no JavaScript run`;
    } else {
      browser = await pw.chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      });
      mode = 'headless Chromium';
    }
    t.diagnostic(`docs: checking ${pages.length} pages with ${mode}`);
    try {
      for (const p of pages) {
        const url = p === 'index.html' ? `${origin}/` : `${origin}/${p}`;
        facts.set(p, browser ? await factsFromBrowser(browser, url, origin) : await factsFromHtml(url));
      }
    } finally {
      await browser?.close();
    }

    const problems: string[] = [];
    for (const [p, f] of facts) for (const e of f.errors) problems.push(`${p}: ${e}`);

    // Every internal target: HTTP 200, a page that exists, and the #anchor present on it.
    const status = new Map<string, number>();
    let internal = 0, external = 0, anchors = 0;
    for (const [p, f] of facts) {
      for (const link of new Set(f.links)) {
        const u = new URL(link);
        if (u.origin !== origin) {
          if (u.protocol.startsWith('http')) external++;
          continue;
        }
        internal++;
        const target = u.pathname === '/' ? 'index.html' : decodeURIComponent(u.pathname.slice(1));
        if (!status.has(target)) status.set(target, (await fetch(`${origin}/${target}`)).status);
        if (status.get(target) !== 200) {
          problems.push(`${p}: broken link ${u.pathname} (HTTP ${status.get(target)})`);
          continue;
        }
        if (target.endsWith('.html') && !facts.has(target)) problems.push(`${p}: link to ${u.pathname}, which is not one of the site's pages`);
        if (u.hash && u.hash.length > 1 && target.endsWith('.html')) {
          anchors++;
          const id = decodeURIComponent(u.hash.slice(1));
          if (!facts.get(target)?.ids.has(id)) problems.push(`${p}: link to ${u.pathname}${u.hash}, but that page has no element with id "${id}"`);
        }
      }
    }
    const summary = `docs: ${facts.size} pages, ${internal} internal links and assets (${status.size} distinct targets, ${anchors} #anchors) checked, ${external} external links not fetched (offline)`;
    t.diagnostic(summary);
    assert.deepEqual(problems, [], problems.join('\n'));
    assert.ok(internal > facts.size * 5, `suspiciously few internal links found (${internal}): did the pages render?`);
  });
});
