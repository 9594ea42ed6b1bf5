// The Evaluate command's result: summary, per-keypoint table, and the pictures evaluate drew
// (per-keypoint errors, the CED curve, the worst faces with truth and prediction).
import { byId, connect, showError } from './api';

connect((m) => {
  const title = byId('title');
  if (m.type === 'evaluation/error') {
    showError(title, m.message);
    return;
  }
  if (m.type !== 'evaluation/show') return;
  title.textContent = m.title;
  const summary = byId('summary');
  summary.textContent = '';
  for (const line of m.summary) summary.appendChild(Object.assign(document.createElement('div'), { textContent: line }));
  const table = byId<HTMLTableElement>('table');
  table.textContent = '';
  const head = table.insertRow();
  for (const h of m.table.head) head.appendChild(Object.assign(document.createElement('th'), { textContent: h }));
  for (const row of m.table.rows) {
    const tr = table.insertRow();
    for (const text of row) tr.insertCell().textContent = text;
  }
  const pictures = byId('pictures');
  pictures.textContent = '';
  for (const [key, alt] of [['perKeypoint', 'per-keypoint errors'], ['ced', 'cumulative error distribution'], ['worst', 'the worst faces']] as const) {
    const src = m.pictures[key];
    if (src) pictures.appendChild(Object.assign(document.createElement('img'), { src, alt, className: 'evaluation' }));
  }
});
