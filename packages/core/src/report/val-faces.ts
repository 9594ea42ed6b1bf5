/** val-faces.png: the first validation faces with their labelled keypoints and the model's predictions drawn (the same faces in every run of a data set). */
import type { FaceSet } from '../data/types.js';
import { encodePng, grayToRgba } from '../data/image.js';
import { faceGridSvg } from './face-grid.js';
import { escapeXml, svgToPng } from './svg.js';

export interface ValFacesOptions {
  /** Faces in the grid (default 16, the first rows of the validation set). */
  count?: number;
  /** Grid columns (default 4). */
  columns?: number;
  /** Pixels per image pixel (default 2: a 96 px face is drawn at 192 px). */
  scale?: number;
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
  const sc = opts.scale ?? 2, cw = set.width * sc, ch = set.height * sc, S = set.width * set.height;
  const cells = Array.from({ length: n }, (_, i) => {
    const image = grayToRgba(set.pixels.subarray(i * S, (i + 1) * S), set.width, set.height);
    const href = 'data:image/png;base64,' + Buffer.from(encodePng(image)).toString('base64');
    const parts = [`<image x="0" y="0" width="${cw}" height="${ch}" preserveAspectRatio="none" href="${href}"/>`];
    for (let k = 0; k < K; k++) {
      const o = (i * K + k) * 2, tx = set.coords[o]!, ty = set.coords[o + 1]!;
      const px = pred[o]! * sc, py = pred[o + 1]! * sc;
      const name = escapeXml(set.keypoints[k]!);
      if (Number.isFinite(tx) && Number.isFinite(ty)) {
        const lx = tx * sc, ly = ty * sc;
        parts.push(`<line x1="${lx.toFixed(1)}" y1="${ly.toFixed(1)}" x2="${px.toFixed(1)}" y2="${py.toFixed(1)}" stroke="#ff9100" stroke-width="1"/>`);
        parts.push(`<circle cx="${lx.toFixed(1)}" cy="${ly.toFixed(1)}" r="4" fill="none" stroke="#00e5ff" stroke-width="1.5"><title>${name} (label)</title></circle>`);
      }
      if (Number.isFinite(px) && Number.isFinite(py)) parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="#ff9100" stroke="#000" stroke-width="0.8"><title>${name} (predicted)</title></circle>`);
    }
    const rmse = faceRmse(set, pred, i);
    return { body: parts.join('\n'), width: cw, height: ch, caption: `row ${set.rows[i]}${Number.isFinite(rmse) ? `: RMSE ${rmse.toFixed(2)} px` : ': no labels'}` };
  });
  return faceGridSvg(cells, {
    columns: Math.min(opts.columns ?? 4, Math.max(1, n)), cellWidth: cw, cellHeight: ch, gap: 6, top: 30,
    title: { markup: '<tspan font-weight="bold">Validation faces</tspan>  <tspan fill="#00838f">○ label</tspan>  <tspan fill="#e65100">● prediction</tspan>', y: 20, size: 14 },
    caption: { size: 12, align: 'start' },
    overflow: true,
  });
}

export function renderValFaces(set: FaceSet, pred: Float32Array, opts?: ValFacesOptions): Promise<Uint8Array> {
  return svgToPng(valFacesSvg(set, pred, opts));
}
