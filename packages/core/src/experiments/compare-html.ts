/** compare.html: the comparison table and every run's learning curves overlaid (plotly.js inlined, as curves.html). */
import { plotlyJs } from '../report/curves.js';
import { escapeXml } from '../report/svg.js';
import type { Comparison } from './compare.js';
import { comparisonCells } from './compare.js';
import type { RunRecord } from './compare.js';

/** A self-contained page (works offline and as a CI artifact); without plotly.js the table alone. */
export async function compareHtml(c: Comparison, runs: readonly RunRecord[], title = 'Keypoints: compare runs'): Promise<string> {
  const { head, rows } = comparisonCells(c);
  const table = `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((s) => `<td>${escapeXml(s)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  // Curves in the table's order (best first), so the legend reads like the table.
  const byDir = new Map(runs.map((r) => [r.dir, r]));
  const series = c.rows.map((row) => ({ name: row.name, metrics: byDir.get(row.dir)?.metrics ?? [] }));
  const plotly = await plotlyJs();
  const style = 'body{font-family:sans-serif;margin:16px} table{border-collapse:collapse;font-size:13px} th,td{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3} td:first-child,th:first-child{text-align:left} .plot{width:100%;max-width:1100px;height:380px}';
  if (!plotly) {
    return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>${style}</style></head>\n<body><h2>${escapeXml(title)}</h2>${table}<p>(plotly.js was not found, so the curves are left out.)</p></body></html>\n`;
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
const traces = (f, mode) => runs.map((r, i) => ({ x: r.metrics.map(m => m.epoch), y: r.metrics.map(f), name: r.name, legendgroup: r.name, mode, line: { color: 'hsl(' + Math.round(i * 360 / Math.max(1, runs.length)) + ',65%,45%)' } }));
Plotly.newPlot('rmse', traces(m => m.valRmse, 'lines+markers'), lay('Validation RMSE', 'pixels', false));
Plotly.newPlot('val', traces(m => m.valLoss, 'lines+markers'), lay('Validation loss (masked MSE, normalised coordinates)', 'loss', true));
Plotly.newPlot('train', traces(m => m.trainLoss, 'lines'), lay('Training loss', 'loss', true));
Plotly.newPlot('lr', traces(m => m.learningRate, 'lines'), lay('Learning rate', 'lr', false));
</script></body></html>
`;
}
