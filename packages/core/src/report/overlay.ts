import { encodePng } from '../data/image.js';
import type { RgbaImage } from '../data/image.js';
import { escapeXml, svgToPng } from './svg.js';

export interface LabelledPoint {
  name: string;
  x: number;
  y: number;
}

export interface OverlayOptions {
  /** The short side is scaled up to at least this many pixels so labels stay legible (default 480). */
  minSize?: number;
  /** Draw the short names beside the markers (default true; names are always in the SVG's <title>). */
  labels?: boolean;
  /** Reference keypoints (e.g. the labels of a dataset row), drawn as hollow rings without names. */
  truth?: LabelledPoint[];
  /** Face boxes (e.g. a face detector's), drawn as outlines with their label (e.g. the score) above. */
  boxes?: OverlayBox[];
}

export interface OverlayBox {
  x: number;
  y: number;
  width: number;
  height: number;
  label?: string;
}

/** "left_eye_inner_corner" -> "L eye inner": short enough to sit beside a point on a 96 px face. */
export function shortLabel(name: string): string {
  return name
    .replace(/_center|_corner|_end|_tip/g, '')
    .replace(/^left_|_left_|_left$/g, (m) => (m.startsWith('_') ? ' L ' : 'L '))
    .replace(/^right_|_right_|_right$/g, (m) => (m.startsWith('_') ? ' R ' : 'R '))
    .replace(/_/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Left keypoints one colour, right another, the rest a third: mirrored mistakes stand out. */
function colourOf(name: string): string {
  if (/(^|_)left(_|$)/.test(name)) return '#00e676';
  if (/(^|_)right(_|$)/.test(name)) return '#ff4081';
  return '#ffd600';
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const overlap = (a: Box, b: Box): number => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));

/**
 * Greedy label placement: for each point, the first of eight positions around its marker whose
 * box stays in the image and overlaps no label or marker placed so far. Neighbouring keypoints (an
 * eye's centre and corners) otherwise print on top of each other. A label with no free spot is
 * left out (undefined) rather than drawn over others: dense sets such as 68-point landmarks keep
 * the labels that fit, and every point stays named in the SVG's <title>.
 */
function placeLabels(points: Array<{ x: number; y: number; text: string }>, r: number, font: number, W: number, H: number): Array<{ x: number; y: number; anchor: 'start' | 'end' | 'middle' } | undefined> {
  const charW = font * 0.62; // DejaVu Sans' average advance is about 0.6 em
  const markers: Box[] = points.map((p) => ({ x0: p.x - r, y0: p.y - r, x1: p.x + r, y1: p.y + r }));
  const placed: Box[] = [];
  const gap = r + 2;
  return points.map((p, i) => {
    const w = p.text.length * charW, h = font;
    // (dx, dy) of the text's anchor from the point; boxes are computed from the anchor and alignment.
    const candidates: Array<{ ax: number; ay: number; anchor: 'start' | 'end' | 'middle' }> = [
      { ax: p.x + gap, ay: p.y - gap / 2, anchor: 'start' },
      { ax: p.x + gap, ay: p.y + h, anchor: 'start' },
      { ax: p.x - gap, ay: p.y - gap / 2, anchor: 'end' },
      { ax: p.x - gap, ay: p.y + h, anchor: 'end' },
      { ax: p.x, ay: p.y - gap, anchor: 'middle' },
      { ax: p.x, ay: p.y + gap + h * 0.8, anchor: 'middle' },
      { ax: p.x + gap, ay: p.y - gap - h, anchor: 'start' },
      { ax: p.x - gap, ay: p.y + gap + h * 1.6, anchor: 'end' },
    ];
    let best = candidates[0]!, bestCost = Infinity, bestBox: Box | undefined;
    for (const c of candidates) {
      const x0 = c.anchor === 'start' ? c.ax : c.anchor === 'end' ? c.ax - w : c.ax - w / 2;
      const box = { x0, y0: c.ay - h * 0.8, x1: x0 + w, y1: c.ay + h * 0.2 };
      let cost = 0;
      if (box.x0 < 0 || box.y0 < 0 || box.x1 > W || box.y1 > H) cost += 1e6;
      for (const b of placed) cost += overlap(box, b) * 4;
      markers.forEach((m, j) => (cost += j === i ? 0 : overlap(box, m)));
      if (cost < bestCost) [best, bestCost, bestBox] = [c, cost, box];
      if (cost === 0) break;
    }
    if (bestCost > 0) return undefined;
    placed.push(bestBox!);
    return { x: best.ax, y: best.ay, anchor: best.anchor };
  });
}

/** A list of faces (each a point list) or one point list. */
function asFaces(points: LabelledPoint[] | LabelledPoint[][]): LabelledPoint[][] {
  return points.length > 0 && Array.isArray(points[0]) ? (points as LabelledPoint[][]) : [points as LabelledPoint[]];
}

/**
 * The image with its keypoints drawn and labelled, as an SVG. Small images are scaled up
 * (at least `minSize` px on the short side) so the labels stay legible; each point is a marker
 * with a black outline (visible on light and dark skin), named on hover by its <title>.
 */
export function overlaySvg(img: RgbaImage, points: LabelledPoint[] | LabelledPoint[][], opts: OverlayOptions = {}): string {
  const { width: W, height: H, body } = overlayBody(img, points, opts);
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans">
${body}
</svg>`;
}

/** The overlay's picture and marks, to place in another SVG (e.g. a grid of faces) with a viewBox of width × height. */
export function overlayBody(img: RgbaImage, points: LabelledPoint[] | LabelledPoint[][], opts: OverlayOptions = {}): { width: number; height: number; body: string } {
  const minSize = opts.minSize ?? 480;
  const scale = Math.max(1, minSize / Math.min(img.width, img.height));
  const W = Math.round(img.width * scale), H = Math.round(img.height * scale);
  const href = 'data:image/png;base64,' + Buffer.from(encodePng(img)).toString('base64');
  const r = Math.max(3.5, Math.min(W, H) / 110);
  const font = Math.max(11, Math.min(W, H) / 38);
  const parts: string[] = [];
  for (const b of opts.boxes ?? []) {
    const [x, y, w, h] = [b.x * scale, b.y * scale, b.width * scale, b.height * scale];
    parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="#00e5ff" stroke-width="${Math.max(2, r / 2).toFixed(1)}"><title>${escapeXml(b.label ?? 'face')}</title></rect>`);
    if (b.label) {
      // Above the box, or inside its top edge when the box touches the image's top.
      const ty = y - font * 0.35 > font ? y - font * 0.35 : y + font * 1.05;
      parts.push(`<text x="${(x + 2).toFixed(1)}" y="${ty.toFixed(1)}" font-size="${font.toFixed(1)}" fill="#00e5ff" stroke="#000" stroke-width="${(font / 4.5).toFixed(1)}" stroke-linejoin="round" paint-order="stroke">${escapeXml(b.label)}</text>`);
    }
  }
  for (const p of opts.truth ?? []) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    parts.push(`<circle cx="${(p.x * scale).toFixed(1)}" cy="${(p.y * scale).toFixed(1)}" r="${(r * 1.6).toFixed(1)}" fill="none" stroke="#00b0ff" stroke-width="2"><title>${escapeXml(p.name)} (label)</title></circle>`);
  }
  for (const face of asFaces(points)) {
    const pts = face.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).map((p) => ({ ...p, px: p.x * scale, py: p.y * scale }));
    for (const p of pts) {
      parts.push(`<circle cx="${p.px.toFixed(1)}" cy="${p.py.toFixed(1)}" r="${r.toFixed(1)}" fill="${colourOf(p.name)}" stroke="#000" stroke-width="1.2"><title>${escapeXml(p.name)}</title></circle>`);
    }
    if (opts.labels === false) continue;
    const spots = placeLabels(pts.map((p) => ({ x: p.px, y: p.py, text: shortLabel(p.name) })), r, font, W, H);
    pts.forEach((p, i) => {
      const s = spots[i];
      if (!s) return;
      parts.push(
        `<text x="${s.x.toFixed(1)}" y="${s.y.toFixed(1)}" text-anchor="${s.anchor}" font-size="${font.toFixed(1)}" fill="${colourOf(p.name)}" stroke="#000" stroke-width="${(font / 4.5).toFixed(1)}" stroke-linejoin="round" paint-order="stroke">${escapeXml(shortLabel(p.name))}</text>`,
      );
    });
  }
  return { width: W, height: H, body: `<image x="0" y="0" width="${W}" height="${H}" preserveAspectRatio="none" href="${href}"/>\n${parts.join('\n')}` };
}

/** PNG bytes of the image with every face's keypoints drawn and labelled. */
export function renderOverlay(img: RgbaImage, points: LabelledPoint[] | LabelledPoint[][], opts?: OverlayOptions): Promise<Uint8Array> {
  return svgToPng(overlaySvg(img, points, opts));
}
