import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Resvg, initWasm } from '@resvg/resvg-wasm';

/**
 * SVG -> PNG with resvg compiled to WebAssembly: no native binary, so the same code runs in the
 * CLI, the JSON-RPC server inside VS Code and CI. Fonts come from the `dejavu-fonts-ttf` package
 * because wasm cannot see system fonts.
 */
let ready: Promise<Uint8Array[]> | undefined;

function init(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmFile = process.env.KEYPOINTS_RESVG_WASM ?? require.resolve('@resvg/resvg-wasm/index_bg.wasm');
    await initWasm(await readFile(wasmFile));
    const fontDir = process.env.KEYPOINTS_FONT_DIR ?? path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    return Promise.all(['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map(async (f) => new Uint8Array(await readFile(path.join(fontDir, f)))));
  })();
  return ready;
}

export async function svgToPng(svg: string): Promise<Uint8Array> {
  const fonts = await init();
  const resvg = new Resvg(svg, { font: { fontBuffers: fonts, defaultFontFamily: 'DejaVu Sans', loadSystemFonts: false } });
  const png = resvg.render().asPng();
  resvg.free();
  return png;
}

/** An SVG's opening tag and its light background (every report picture shares them). */
export const svgOpen = (W: number, H: number) => `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans">\n<rect width="100%" height="100%" fill="#fafafa"/>`;

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * A bold title at (x, y) that stays inside `width`: the font shrinks (not below 9 px) when the text
 * would not fit at `size` (DejaVu Sans Bold runs about 0.62 em per character), since run names
 * make titles of any length.
 */
export function titleText(title: string, x: number, y: number, size: number, width: number, fill = '#111'): string {
  const fits = Math.max(9, Math.min(size, (width - x) / (0.62 * Math.max(1, title.length))));
  return `<text x="${x}" y="${y}" font-size="${Math.floor(fits * 10) / 10}" font-weight="bold" fill="${fill}">${escapeXml(title)}</text>`;
}
