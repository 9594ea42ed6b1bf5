/** The evaluation pictures: per-keypoint errors, the CED curve, and the worst faces with truth and prediction drawn. */
import path from 'node:path';
import type { RgbaImage } from '../data/image.js';
import { writeFileAtomic } from '../util/atomic.js';
import { niceTicks, tickLabels } from './curves.js';
import { overlayBody, type LabelledPoint } from './overlay.js';
import { faceGridSvg } from './face-grid.js';
import { escapeXml, svgOpen, svgToPng, titleText } from './svg.js';

const pct = (v: number, digits = 2) => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : 'n/a');

/** One bar per keypoint (its NME), with its RMSE in pixels and NME written beside it. */
export function perKeypointSvg(perKeypoint: Record<string, { rmse: number; nme: number; count: number }>, title: string): string {
  const rows = Object.entries(perKeypoint);
  const W = 900, rowH = rows.length > 30 ? 14 : 22, top = 64, left = 210, barW = 470;
  const H = top + rows.length * rowH + 40;
  const max = Math.max(1e-9, ...rows.map(([, v]) => v.nme).filter(Number.isFinite));
  const ticks = niceTicks(0, max * 100, false).filter((t) => t >= 0 && t <= max * 100 * 1.0001);
  const labels = tickLabels(ticks);
  const x = (nme: number) => left + (nme / max) * barW;
  const parts = [svgOpen(W, H), titleText(title, 16, 26, 17, W - 16), `<text x="16" y="48" font-size="12" fill="#444">bar: NME (mean point error ÷ outer-eye-corner distance); right: RMSE in pixels per coordinate, NME</text>`];
  ticks.forEach((t, i) => {
    const tx = x(t / 100).toFixed(1);
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${top - 4}" y2="${top + rows.length * rowH}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${tx}" y="${top + rows.length * rowH + 16}" font-size="11" text-anchor="middle" fill="#444">${labels[i]} %</text>`);
  });
  rows.forEach(([name, v], i) => {
    const y = top + i * rowH, font = Math.min(12, rowH - 3);
    parts.push(`<text x="${left - 8}" y="${y + rowH / 2}" font-size="${font}" text-anchor="end" dominant-baseline="middle" fill="#222">${escapeXml(name)}</text>`);
    if (Number.isFinite(v.nme)) parts.push(`<rect x="${left}" y="${y + 2}" width="${(x(v.nme) - left).toFixed(1)}" height="${rowH - 4}" fill="#1f77b4"/>`);
    const text = `${Number.isFinite(v.rmse) ? v.rmse.toFixed(2) : 'n/a'} px · ${pct(v.nme)}`;
    parts.push(`<text x="${left + barW + 12}" y="${y + rowH / 2}" font-size="${font}" dominant-baseline="middle" fill="#222">${text}</text>`);
  });
  return parts.join('\n') + '\n</svg>';
}

export interface CedLine {
  name: string;
  thresholds: number[];
  fractions: number[];
  auc: number;
  failureRate: number;
}

/** The cumulative error distribution: fraction of faces (y) with NME at or below x. */
export function cedSvg(lines: CedLine[], title: string): string {
  const W = 760, H = 480, left = 70, right = 24, top = 56, bottom = 50;
  const pw = W - left - right, ph = H - top - bottom;
  const limit = Math.max(...lines.map((l) => l.thresholds[l.thresholds.length - 1] ?? 0.1));
  const tx = (t: number) => left + (t / limit) * pw, ty = (f: number) => top + ph - f * ph;
  const colours = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd'];
  const parts = [svgOpen(W, H), titleText(title, 16, 26, 17, W - 16), `<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="#fff" stroke="#999"/>`];
  const xt = niceTicks(0, limit * 100, false), xl = tickLabels(xt);
  xt.forEach((t, i) => {
    parts.push(`<line x1="${tx(t / 100).toFixed(1)}" x2="${tx(t / 100).toFixed(1)}" y1="${top}" y2="${top + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${tx(t / 100).toFixed(1)}" y="${top + ph + 16}" font-size="11" text-anchor="middle" fill="#444">${xl[i]}</text>`);
  });
  for (const f of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    parts.push(`<line x1="${left}" x2="${left + pw}" y1="${ty(f).toFixed(1)}" y2="${ty(f).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${ty(f).toFixed(1)}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#444">${f.toFixed(1)}</text>`);
  }
  parts.push(`<text x="${left + pw / 2}" y="${H - 12}" font-size="12" text-anchor="middle" fill="#444">NME (% of the outer-eye-corner distance)</text>`);
  parts.push(`<text transform="translate(18,${top + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="#444">fraction of faces</text>`);
  lines.forEach((l, i) => {
    const c = colours[i % colours.length]!;
    // A step function: the fraction holds until the next threshold.
    const d = l.thresholds.map((t, j) => `${j ? 'L' : 'M'}${tx(t).toFixed(1)},${ty(l.fractions[j]!).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2.2"/>`);
    // Top left: a CED rises from the bottom left, so that corner stays clear.
    const ly = top + 18 + i * 18;
    parts.push(`<line x1="${left + 12}" x2="${left + 32}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2.2"/>`);
    parts.push(`<text x="${left + 38}" y="${ly}" font-size="12" dominant-baseline="middle" fill="#222">${escapeXml(`${l.name}: AUC@${(limit * 100).toFixed(0)}% ${l.auc.toFixed(3)}, failures ${pct(l.failureRate, 1)}`)}</text>`);
  });
  return parts.join('\n') + '\n</svg>';
}

export interface FaceTile {
  image: RgbaImage;
  truth: LabelledPoint[];
  /** Undefined for a face the detector missed (only the truth is drawn). */
  predicted?: LabelledPoint[];
  caption: string;
}

/** The faces in a 4-wide grid, each with the truth as rings and the prediction as dots. */
export function worstSvg(tiles: FaceTile[], title: string): string {
  const cells = tiles.map((t) => ({ ...overlayBody(t.image, t.predicted ?? [], { truth: t.truth, labels: false, minSize: 240 }), caption: t.caption }));
  return faceGridSvg(cells, {
    columns: 4, cellWidth: 200, cellHeight: 200, gap: 8, top: 44,
    title: { markup: `<tspan font-weight="bold">${escapeXml(title)}</tspan>`, y: 28, size: 16 },
    caption: { size: 11, align: 'middle' },
  });
}

/** The part of an image around a face (a square, edges repeated past the border) and the points moved into it. */
export function cropTile(img: RgbaImage, region: { x: number; y: number; size: number }, ...pointSets: Array<LabelledPoint[] | undefined>): { image: RgbaImage; points: Array<LabelledPoint[] | undefined> } {
  const side = Math.max(8, Math.round(region.size)), left = Math.round(region.x), top = Math.round(region.y);
  const data = new Uint8Array(side * side * 4);
  for (let y = 0; y < side; y++) {
    const sy = Math.min(img.height - 1, Math.max(0, top + y));
    for (let x = 0; x < side; x++) {
      const sx = Math.min(img.width - 1, Math.max(0, left + x));
      data.set(img.data.subarray((sy * img.width + sx) * 4, (sy * img.width + sx) * 4 + 4), (y * side + x) * 4);
    }
  }
  const points = pointSets.map((ps) => ps?.map((p) => ({ ...p, x: p.x - left, y: p.y - top })));
  return { image: { width: side, height: side, data }, points };
}

export const EVALUATION_PICTURES = { perKeypoint: 'per-keypoint.png', ced: 'ced.png', worst: 'worst.png' } as const;

/** Writes the three pictures into `dir`; returns their absolute paths. */
export async function writeEvaluationPictures(
  dir: string,
  input: { title: string; perKeypoint: Record<string, { rmse: number; nme: number; count: number }>; ced: CedLine; worst: FaceTile[] },
): Promise<Record<keyof typeof EVALUATION_PICTURES, string>> {
  const out = Object.fromEntries(Object.entries(EVALUATION_PICTURES).map(([k, f]) => [k, path.resolve(dir, f)])) as Record<keyof typeof EVALUATION_PICTURES, string>;
  await writeFileAtomic(out.perKeypoint, await svgToPng(perKeypointSvg(input.perKeypoint, `Per keypoint: ${input.title}`)));
  await writeFileAtomic(out.ced, await svgToPng(cedSvg([input.ced], `Cumulative error distribution: ${input.title}`)));
  await writeFileAtomic(out.worst, await svgToPng(worstSvg(input.worst, `The ${input.worst.length} worst faces (rings: truth, dots: prediction): ${input.title}`)));
  return out;
}
