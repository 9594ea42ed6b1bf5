// Compare runs: the table `keypoints compare` prints (only the options that differ, then results,
// best RMSE first) and every run's validation RMSE and loss overlaid, one colour per run.
import type { EpochMetrics } from '@keypoints/core/protocol';
import { byId, connect, showError } from './api';
import { layout, plotConfig as config } from './plot';

const legend = { font: { size: 10 } };

connect((m) => {
  const title = byId('title');
  if (m.type === 'compare/error') {
    showError(title, m.message);
    return;
  }
  if (m.type !== 'compare/show') return;
  title.textContent = `Compare ${m.runs.length} runs`;
  const table = byId<HTMLTableElement>('table');
  table.textContent = '';
  const head = table.insertRow();
  for (const h of m.cells.head) head.appendChild(Object.assign(document.createElement('th'), { textContent: h }));
  for (const row of m.cells.rows) {
    const tr = table.insertRow();
    tr.className = 'run';
    for (const text of row) tr.insertCell().textContent = text;
  }
  const runs = m.runs;
  const trace = (f: (x: EpochMetrics) => number) =>
    runs.map((r) => ({ x: r.metrics.map((e) => e.epoch), y: r.metrics.map(f), name: r.name, mode: 'lines+markers' as const }));
  void Plotly.react('rmse', trace((e) => e.valRmse), layout('Validation RMSE', 'pixels', {}, legend), config);
  void Plotly.react('loss', trace((e) => e.valLoss), layout('Validation loss (masked MSE, normalised coordinates)', 'loss', { type: 'log', tickformat: '.2~g' }, legend), config);
});
