/** compare.html: the comparison table and every run's learning curves overlaid (plotly.js inlined, as curves.html). */
import { panelSvg, plotlyJs, type PanelSpec } from '../report/curves.js';
import { escapeXml } from '../report/svg.js';
import type { EpochMetrics } from '../train/events.js';
import type { Comparison } from './compare.js';
import { comparisonCells } from './compare.js';
import type { RunRecord } from './compare.js';

/** One colour per run, spread round the hue circle (the same in the SVG and the plotly page). */
const hue = (i: number, n: number) => `hsl(${Math.round((i * 360) / Math.max(1, n))},65%,45%)`;

/** The runs' curves as one SVG (validation RMSE and validation loss, one line per run, a legend below), for PNGs and pages without plotly. */
export function compareSvg(c: Comparison, runs: readonly RunRecord[], title = 'Keypoints: compare runs'): string {
  const byDir = new Map(runs.map((r) => [r.dir, r]));
  const list = c.rows.map((row, i) => ({ name: row.name, color: hue(i, c.rows.length), metrics: byDir.get(row.dir)?.metrics ?? [] }));
  const pts = (ms: readonly EpochMetrics[], f: (m: EpochMetrics) => number): Array<[number, number]> => ms.filter((m) => Number.isFinite(f(m))).map((m) => [m.epoch, f(m)]);
  const specs: PanelSpec[] = [
    { title: 'Validation RMSE', yLabel: 'pixels', logY: false, legend: false, series: list.map((r) => ({ name: r.name, color: r.color, points: pts(r.metrics, (m) => m.valRmse) })) },
    { title: 'Validation loss (masked MSE, normalised coordinates)', yLabel: 'loss', logY: true, legend: false, series: list.map((r) => ({ name: r.name, color: r.color, points: pts(r.metrics, (m) => m.valLoss) })) },
  ];
  const W = 900, PH = 260, LH = 18;
  const maxEpoch = Math.max(1, ...list.flatMap((r) => r.metrics.map((m) => m.epoch)));
  const legendTop = 40 + specs.length * PH + 8;
  const H = legendTop + list.length * LH + 12;
  const legend = list
    .map((r, i) => {
      const y = legendTop + i * LH + 9;
      return `<line x1="64" x2="86" y1="${y}" y2="${y}" stroke="${r.color}" stroke-width="3"/><text x="94" y="${y}" font-size="12" dominant-baseline="middle" fill="#222">${escapeXml(`${i + 1}. ${r.name}`)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans">
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="16" y="24" font-size="17" font-weight="bold" fill="#111">${escapeXml(title)}</text>
${specs.map((sp, i) => panelSvg(sp, 0, 40 + i * PH, W, PH, maxEpoch)).join('\n')}
${legend}
</svg>`;
}

/** A self-contained page (works offline and as a CI artifact); without plotly.js the curves as an inline SVG. */
export async function compareHtml(c: Comparison, runs: readonly RunRecord[], title = 'Keypoints: compare runs'): Promise<string> {
  const { head, rows } = comparisonCells(c);
  const table = `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((s) => `<td>${escapeXml(s)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  // Curves in the table's order (best first), so the legend reads like the table.
  const byDir = new Map(runs.map((r) => [r.dir, r]));
  const series = c.rows.map((row, i) => ({ name: row.name, color: hue(i, c.rows.length), metrics: byDir.get(row.dir)?.metrics ?? [] }));
  const plotly = await plotlyJs();
  const style = 'body{font-family:sans-serif;margin:16px} table{border-collapse:collapse;font-size:13px} th,td{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3} td:first-child,th:first-child{text-align:left} .plot{width:100%;max-width:1100px;height:380px}';
  if (!plotly) {
    return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>${style}</style></head>\n<body><h2>${escapeXml(title)}</h2>${table}\n${compareSvg(c, runs, title)}</body></html>\n`;
  }
  const data = JSON.stringify(series).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>${style}</style>
<script>${plotly.replace(/<\/script/gi, '<\\/script')}</script></head>
<body><h2>${escapeXml(title)}</h2>
${table}
<div id="rmse" class="plot"></div><div id="val" class="plot"></div><div id="train" class="plot"></div><div id="lr" class="plot"></div>
<script>
const runs = ${data};
const lay = (t, y, log) => ({ title: { text: t }, xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: y }, type: log ? 'log' : 'linear' }, margin: { t: 40 }, legend: { font: { size: 10 } } });
const traces = (f, mode) => runs.map((r, i) => ({ x: r.metrics.map(m => m.epoch), y: r.metrics.map(f), name: r.name, legendgroup: r.name, mode, line: { color: r.color } }));
Plotly.newPlot('rmse', traces(m => m.valRmse, 'lines+markers'), lay('Validation RMSE', 'pixels', false));
Plotly.newPlot('val', traces(m => m.valLoss, 'lines+markers'), lay('Validation loss (masked MSE, normalised coordinates)', 'loss', true));
Plotly.newPlot('train', traces(m => m.trainLoss, 'lines'), lay('Training loss', 'loss', true));
Plotly.newPlot('lr', traces(m => m.learningRate, 'lines'), lay('Learning rate', 'lr', false));
</script></body></html>
`;
}
