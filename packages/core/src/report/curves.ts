import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { EpochMetrics } from '../train/events.js';
import { writeFileAtomic } from '../util/atomic.js';
import { escapeXml, svgToPng } from './svg.js';

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dash?: boolean;
}

export interface PanelSpec {
  title: string;
  yLabel: string;
  logY: boolean;
  series: Series[];
  /** false: no legend in the panel (the caller draws one, e.g. for many runs). */
  legend?: boolean;
}

const COLORS = { train: '#1f77b4', val: '#d62728', rmse: '#2ca02c', lr: '#9467bd' };

function panels(metrics: readonly EpochMetrics[]): PanelSpec[] {
  const pts = (f: (m: EpochMetrics) => number): Array<[number, number]> =>
    metrics.filter((m) => Number.isFinite(f(m))).map((m) => [m.epoch, f(m)]);
  return [
    {
      title: 'Loss (masked MSE, normalised coordinates)',
      yLabel: 'loss',
      logY: true,
      series: [
        { name: 'train', color: COLORS.train, points: pts((m) => m.trainLoss) },
        { name: 'validation', color: COLORS.val, points: pts((m) => m.valLoss) },
      ],
    },
    { title: 'Validation RMSE', yLabel: 'pixels', logY: false, series: [{ name: 'val RMSE', color: COLORS.rmse, points: pts((m) => m.valRmse) }] },
    { title: 'Learning rate', yLabel: 'lr', logY: false, series: [{ name: 'learning rate', color: COLORS.lr, points: pts((m) => m.learningRate) }] },
  ];
}

/**
 * Round tick positions covering [lo, hi]: 1-2-5 steps on a linear axis; on a log axis 1-2-5 times
 * powers of ten, or finer mantissas, or (for a range under a factor of ~2) linear 1-2-5 steps,
 * whichever first gives at least four ticks.
 */
export function niceTicks(lo: number, hi: number, log: boolean): number[] {
  // A (nearly) flat series, e.g. a constant learning rate with float noise: widen the range so
  // the step is representable (a step below the values' precision would never advance).
  if (!(hi - lo > Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9)) {
    const c = (lo + hi) / 2, d = Math.abs(c) * 0.1 || 1;
    [lo, hi] = log && c > 0 ? [c / 1.25, c * 1.25] : [c - d, c + d];
  }
  if (log) {
    for (const mantissas of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9]]) {
      const out: number[] = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        for (const m of mantissas) {
          const v = Number((m * 10 ** e).toPrecision(12));
          if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
        }
      }
      if (out.length >= 4) return out;
    }
    return niceTicks(lo, hi, false).filter((v) => v > 0);
  }
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 6; // the smallest 1-2-5 step at or above this gives 4 to 7 ticks
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let i = Math.ceil(lo / step); i * step <= hi + step * 1e-9 && out.length < 100; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Tick labels with just enough digits to tell neighbouring ticks apart. */
export function tickLabels(ticks: readonly number[]): string[] {
  for (let digits = 1; digits <= 8; digits++) {
    const labels = ticks.map((v) => {
      if (v === 0) return '0';
      const a = Math.abs(v);
      if (a >= 1e5 || a < 1e-4) return v.toExponential(Math.max(0, digits - 1)).replace('e+', 'e');
      return String(Number(v.toPrecision(digits)));
    });
    if (new Set(labels).size === labels.length) return labels;
  }
  return ticks.map(String);
}

export function panelSvg(spec: PanelSpec, x0: number, y0: number, w: number, h: number, maxEpoch: number): string {
  const left = 64, right = 16, top = 28, bottom = 36;
  const pw = w - left - right, ph = h - top - bottom;
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => (spec.logY ? v > 0 : true));
  let lo = ys.length ? Math.min(...ys) : 0, hi = ys.length ? Math.max(...ys) : 1;
  if (spec.logY) { lo = lo > 0 ? lo * 0.8 : 1e-4; hi = hi > 0 ? hi * 1.25 : 1; }
  else { const pad = (hi - lo || Math.abs(hi) || 1) * 0.08; lo = Math.max(0, lo - pad); hi += pad; }
  const tx = (e: number) => x0 + left + (maxEpoch <= 1 ? pw / 2 : ((e - 1) / (maxEpoch - 1)) * pw);
  const ty = (v: number) => {
    const f = spec.logY ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo || 1);
    return y0 + top + ph - f * ph;
  };
  const parts: string[] = [];
  parts.push(`<text x="${x0 + left}" y="${y0 + 18}" font-size="14" font-weight="bold" fill="#222">${escapeXml(spec.title)}</text>`);
  parts.push(`<rect x="${x0 + left}" y="${y0 + top}" width="${pw}" height="${ph}" fill="#fff" stroke="#999"/>`);
  const yTicks = niceTicks(lo, hi, spec.logY);
  const yLabels = tickLabels(yTicks);
  yTicks.forEach((t, i) => {
    const y = ty(t).toFixed(1);
    parts.push(`<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 + left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#444">${yLabels[i]}</text>`);
  });
  for (const t of niceTicks(1, Math.max(2, maxEpoch), false).filter((e) => Number.isInteger(e) && e >= 1 && e <= maxEpoch)) {
    const x = tx(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${y0 + top + ph}" y2="${y0 + top + ph + 4}" stroke="#999"/>`);
    parts.push(`<text x="${x}" y="${y0 + top + ph + 16}" font-size="11" text-anchor="middle" fill="#444">${t}</text>`);
  }
  parts.push(`<text x="${x0 + left + pw / 2}" y="${y0 + h - 4}" font-size="11" text-anchor="middle" fill="#444">epoch</text>`);
  parts.push(`<text transform="translate(${x0 + 14},${y0 + top + ph / 2}) rotate(-90)" font-size="11" text-anchor="middle" fill="#444">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const p = s.points.filter((q) => (spec.logY ? q[1] > 0 : true));
    if (p.length) {
      const d = p.map((q, j) => `${j ? 'L' : 'M'}${tx(q[0]).toFixed(1)},${ty(q[1]).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      // Each marker's <title> is its value on hover in curves.html (resvg ignores it in the PNG).
      if (p.length <= 60) for (const q of p) parts.push(`<circle cx="${tx(q[0]).toFixed(1)}" cy="${ty(q[1]).toFixed(1)}" r="2.5" fill="${s.color}"><title>${escapeXml(s.name)}, epoch ${q[0]}: ${Number(q[1].toPrecision(5))}</title></circle>`);
    }
    if (spec.legend === false) return;
    const lx = x0 + left + pw - 120, ly = y0 + top + 14 + i * 16;
    parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 24}" y="${ly}" font-size="11" dominant-baseline="middle" fill="#222">${escapeXml(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** The learning curves as one SVG: loss (log scale), validation RMSE in pixels, learning rate. */
export function curvesSvg(metrics: readonly EpochMetrics[], title = 'Keypoints training'): string {
  const W = 900, PH = 260;
  const specs = panels(metrics);
  const maxEpoch = Math.max(1, ...metrics.map((m) => m.epoch));
  const H = 40 + specs.length * PH;
  const best = metrics.reduce<EpochMetrics | undefined>((b, m) => (Number.isFinite(m.valLoss) && (!b || m.valLoss < b.valLoss) ? m : b), undefined);
  const subtitle = best ? `best epoch ${best.epoch}: validation RMSE ${best.valRmse.toFixed(3)} px` : 'no epochs yet';
  const body = specs.map((s, i) => panelSvg(s, 0, 40 + i * PH, W, PH, maxEpoch)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans">
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="16" y="24" font-size="17" font-weight="bold" fill="#111">${escapeXml(title)}</text>
<text x="${W - 16}" y="24" font-size="13" text-anchor="end" fill="#333">${escapeXml(subtitle)}</text>
${body}
</svg>`;
}

let plotlySource: Promise<string | undefined> | undefined;
/** plotly.js from node_modules (or KEYPOINTS_PLOTLY_JS); undefined when a bundle shipped without it. */
export function plotlyJs(): Promise<string | undefined> {
  plotlySource ??= (async () => {
    try {
      const file = process.env.KEYPOINTS_PLOTLY_JS ?? createRequire(import.meta.url).resolve('plotly.js-basic-dist-min/plotly-basic.min.js');
      return await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
  })();
  return plotlySource;
}

/**
 * curves.html: the curves as inline SVG (values on hover), a small self-contained page that works
 * offline and when shared. plotly.js (1.2 MB) is not inlined into every run folder: the extension's
 * panel draws the live, zoomable curves; compare.html, one per sweep, still carries plotly.
 */
export async function curvesHtml(metrics: readonly EpochMetrics[], title = 'Keypoints training'): Promise<string> {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body{font-family:sans-serif;margin:16px;background:#fafafa} svg{max-width:100%;height:auto}</style></head>
<body>${curvesSvg(metrics, title)}
<p>Figures per epoch: <a href="results.csv">results.csv</a>, <a href="metrics.jsonl">metrics.jsonl</a>.</p></body></html>`;
}

/** Writes curves.html and curves.png into a run folder, each atomically. */
export async function writeCurves(runDir: string, metrics: readonly EpochMetrics[], opts: { png?: boolean; html?: boolean } = {}): Promise<void> {
  const title = `Keypoints: ${path.basename(path.resolve(runDir))}`;
  if (opts.html !== false) await writeFileAtomic(path.join(runDir, 'curves.html'), await curvesHtml(metrics, title));
  if (opts.png !== false) await writeFileAtomic(path.join(runDir, 'curves.png'), await svgToPng(curvesSvg(metrics, title)));
}
