/** A grid of face pictures, each with a caption below: val-faces.png and the evaluation's worst.png. */
import { escapeXml, svgOpen } from './svg.js';

export interface GridCell {
  /** SVG markup drawn in a viewBox of width × height, fitted into the cell (aspect kept). */
  body: string;
  width: number;
  height: number;
  caption: string;
}

export interface FaceGridLayout {
  columns: number;
  cellWidth: number;
  cellHeight: number;
  /** Space between cells and around the grid. */
  gap: number;
  /** Height of the title band above the first row. */
  top: number;
  /** Title line: markup inside a <text> at (gap, y) (tspans allowed; the caller escapes its text). */
  title: { markup: string; y: number; size: number };
  caption: { size: number; align: 'start' | 'middle' };
  /** Let marks past a picture's edge show (a prediction off the image) instead of cutting them at the cell. */
  overflow?: boolean;
}

const CAPTION_H = 18;

/** The cells row by row (at least one row, so an empty grid still shows its title). */
export function faceGridSvg(cells: GridCell[], l: FaceGridLayout): string {
  const rows = Math.max(1, Math.ceil(cells.length / l.columns));
  const W = l.columns * (l.cellWidth + l.gap) + l.gap, H = l.top + rows * (l.cellHeight + CAPTION_H + l.gap) + l.gap;
  const parts = [svgOpen(W, H), `<text x="${l.gap}" y="${l.title.y}" font-size="${l.title.size}" fill="#111">${l.title.markup}</text>`];
  cells.forEach((c, i) => {
    const x = l.gap + (i % l.columns) * (l.cellWidth + l.gap), y = l.top + Math.floor(i / l.columns) * (l.cellHeight + CAPTION_H + l.gap);
    parts.push(`<svg x="${x}" y="${y}" width="${l.cellWidth}" height="${l.cellHeight}" viewBox="0 0 ${c.width} ${c.height}" preserveAspectRatio="xMidYMid meet"${l.overflow ? ' overflow="visible"' : ''}>${c.body}</svg>`);
    const [cx, anchor] = l.caption.align === 'middle' ? [x + l.cellWidth / 2, ' text-anchor="middle"'] : [x + 2, ''];
    parts.push(`<text x="${cx}" y="${y + l.cellHeight + 13}" font-size="${l.caption.size}"${anchor} fill="#222">${escapeXml(c.caption)}</text>`);
  });
  return parts.join('\n') + '\n</svg>';
}
