import { encodePng } from '../data/image.js';
import type { RgbaImage } from '../data/image.js';
import { escapeXml, svgToPng } from './svg.js';

export interface LabelledPoint {
  name: string;
  x: number;
  y: number;
}

/** "left_eye_inner_corner" -> "L eye inner": short enough to sit beside a point on a 96 px face. */
export function shortLabel(name: string): string {
  return name
    .replace(/^left_|_left_|_left$/g, (m) => (m.startsWith('_') ? ' L ' : 'L '))
    .replace(/^right_|_right_|_right$/g, (m) => (m.startsWith('_') ? ' R ' : 'R '))
    .replace(/_center|_corner|_end|_tip/g, '')
    .replace(/mouth_center_/, 'mouth ')
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

/**
 * The image with its keypoints drawn and labelled, as an SVG. Small images are scaled up
 * (at least `minSize` px on the short side) so the labels stay legible.
 */
export function overlaySvg(img: RgbaImage, faces: LabelledPoint[][], opts: { minSize?: number; labels?: boolean } = {}): string {
  const minSize = opts.minSize ?? 480;
  const scale = Math.max(1, minSize / Math.min(img.width, img.height));
  const W = Math.round(img.width * scale), H = Math.round(img.height * scale);
  const href = 'data:image/png;base64,' + Buffer.from(encodePng(img)).toString('base64');
  const r = Math.max(3, Math.min(W, H) / 120);
  const font = Math.max(10, Math.min(W, H) / 40);
  const parts: string[] = [];
  for (const pts of faces) {
    for (const p of pts) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      const x = (p.x * scale).toFixed(1), y = (p.y * scale).toFixed(1);
      const c = colourOf(p.name);
      parts.push(`<circle cx="${x}" cy="${y}" r="${r.toFixed(1)}" fill="${c}" stroke="#000" stroke-width="1"><title>${escapeXml(p.name)}</title></circle>`);
      if (opts.labels !== false) {
        parts.push(`<text x="${(p.x * scale + r + 2).toFixed(1)}" y="${(p.y * scale - r).toFixed(1)}" font-size="${font.toFixed(1)}" fill="${c}" stroke="#000" stroke-width="${(font / 5).toFixed(1)}" paint-order="stroke">${escapeXml(shortLabel(p.name))}</text>`);
      }
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans">
<image x="0" y="0" width="${W}" height="${H}" preserveAspectRatio="none" image-rendering="optimizeQuality" href="${href}"/>
${parts.join('\n')}
</svg>`;
}

/** PNG bytes of the image with every face's keypoints drawn and labelled. */
export function renderOverlay(img: RgbaImage, faces: LabelledPoint[][], opts?: { minSize?: number; labels?: boolean }): Promise<Uint8Array> {
  return svgToPng(overlaySvg(img, faces, opts));
}
