// A dataset preview: how many rows miss which keypoint, and a grid of faces with their labels.
import { byId, connect, keypointLayer, showError } from './api';

connect((m) => {
  const title = byId('title');
  if (m.type === 'dataset/error') {
    showError(title, m.message);
    return;
  }
  if (m.type !== 'dataset/show') return;
  title.textContent = m.source;
  byId('summary').textContent = `${m.rows} faces, ${m.keypoints.length} keypoints; ${m.complete} rows (${((100 * m.complete) / Math.max(1, m.rows)).toFixed(1)}%) have every keypoint labelled.`;
  const table = byId<HTMLTableElement>('missing');
  table.textContent = '';
  const head = table.insertRow();
  for (const h of ['keypoint', 'rows missing it', 'share']) head.appendChild(Object.assign(document.createElement('th'), { textContent: h }));
  for (const k of m.keypoints) {
    const miss = m.missing[k] ?? 0;
    const tr = table.insertRow();
    for (const text of [k, String(miss), `${((100 * miss) / Math.max(1, m.rows)).toFixed(1)}%`]) tr.insertCell().textContent = text;
  }
  const grid = byId('grid');
  grid.className = 'grid';
  grid.textContent = '';
  for (const s of m.samples) {
    const box = document.createElement('div');
    box.className = 'face';
    const img = document.createElement('img');
    img.src = s.image;
    img.alt = `row ${s.row}`;
    box.appendChild(img);
    box.appendChild(keypointLayer(s.width, s.height, s.keypoints, 1.3));
    const row = document.createElement('div');
    row.className = 'row';
    row.textContent = `row ${s.row}: ${s.keypoints.length}/${m.keypoints.length} labelled`;
    box.appendChild(row);
    grid.appendChild(box);
  }
});
