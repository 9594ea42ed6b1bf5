/** val-faces.png: the first validation faces with their labelled keypoints and the model's predictions drawn (the same faces in every run of a data set). */
import type { FaceSet } from '../data/types.js';
import { encodePng, type RgbaImage } from '../data/image.js';
import { escapeXml, svgToPng } from './svg.js';

export interface ValFacesOptions {
  /** Faces in the grid (default 16, the first rows of the validation set). */
  count?: number;
  /** Grid columns (default 4). */
  columns?: number;
  /** Pixels per image pixel (default 2: a 96 px face is drawn at 192 px). */
  scale?: number;
}

function faceImage(set: FaceSet, i: number): RgbaImage {
  const S2 = set.width * set.height, data = new Uint8Array(S2 * 4);
  for (let p = 0; p < S2; p++) {
    const v = Math.round(Math.min(1, Math.max(0, set.pixels[i * S2 + p]!)) * 255);
    data.set([v, v, v, 255], p * 4);
  }
  return { width: set.width, height: set.height, data };
}

/** RMSE in pixels over the face's labelled coordinates; NaN when it has none. */
function faceRmse(set: FaceSet, pred: Float32Array, i: number): number {
  const K2 = set.keypoints.length * 2;
  let se = 0, n = 0;
  for (let j = 0; j < K2; j++) {
    const t = set.coords[i * K2 + j]!;
    if (Number.isFinite(t)) (se += (pred[i * K2 + j]! - t) ** 2), n++;
  }
  return n ? Math.sqrt(se / n) : NaN;
}

/**
 * The grid as an SVG. `pred` holds the predictions for faces 0..count-1 of `set` (count × K × 2, in
 * the image's pixels). Truth: hollow cyan rings; prediction: filled orange dots joined to their
 * label by a line, so the error is what the eye sees; each cell names its source row and RMSE.
 */
export function valFacesSvg(set: FaceSet, pred: Float32Array, opts: ValFacesOptions = {}): string {
  const K = set.keypoints.length, n = Math.min(opts.count ?? 16, set.count, pred.length / (2 * K));
  const cols = Math.min(opts.columns ?? 4, Math.max(1, n)), rows = Math.ceil(n / cols);
  const sc = opts.scale ?? 2, cw = set.width * sc, ch = set.height * sc, capH = 18, pad = 6;
  const W = cols * (cw + pad) + pad, H = 30 + rows * (ch + capH + pad) + pad;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const x0 = pad + (i % cols) * (cw + pad), y0 = 30 + Math.floor(i / cols) * (ch + capH + pad);
    const href = 'data:image/png;base64,' + Buffer.from(encodePng(faceImage(set, i))).toString('base64');
    parts.push(`<image x="${x0}" y="${y0}" width="${cw}" height="${ch}" preserveAspectRatio="none" href="${href}"/>`);
    for (let k = 0; k < K; k++) {
      const o = (i * K + k) * 2, tx = set.coords[o]!, ty = set.coords[o + 1]!;
      const px = x0 + pred[o]! * sc, py = y0 + pred[o + 1]! * sc;
      const name = escapeXml(set.keypoints[k]!);
      if (Number.isFinite(tx) && Number.isFinite(ty)) {
        const lx = x0 + tx * sc, ly = y0 + ty * sc;
        parts.push(`<line x1="${lx.toFixed(1)}" y1="${ly.toFixed(1)}" x2="${px.toFixed(1)}" y2="${py.toFixed(1)}" stroke="#ff9100" stroke-width="1"/>`);
        parts.push(`<circle cx="${lx.toFixed(1)}" cy="${ly.toFixed(1)}" r="4" fill="none" stroke="#00e5ff" stroke-width="1.5"><title>${name} (label)</title></circle>`);
      }
      if (Number.isFinite(px) && Number.isFinite(py)) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="#ff9100" stroke="#000" stroke-width="0.8"><title>${name} (predicted)</title></circle>`);
    }
    const rmse = faceRmse(set, pred, i);
    const caption = `row ${set.rows[i]}${Number.isFinite(rmse) ? `: RMSE ${rmse.toFixed(2)} px` : ': no labels'}`;
    parts.push(`<text x="${x0 + 2}" y="${y0 + ch + 13}" font-size="12" fill="#222">${escapeXml(caption)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans">
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="${pad}" y="20" font-size="14" fill="#111"><tspan font-weight="bold">Validation faces</tspan>  <tspan fill="#00838f">○ label</tspan>  <tspan fill="#e65100">● prediction</tspan></text>
${parts.join('\n')}
</svg>`;
}

export function renderValFaces(set: FaceSet, pred: Float32Array, opts?: ValFacesOptions): Promise<Uint8Array> {
  return svgToPng(valFacesSvg(set, pred, opts));
}
