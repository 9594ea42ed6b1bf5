// A grid of faces with their labelled keypoints, and how many rows miss which keypoint.
(function () {
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  window.addEventListener('message', (event) => {
    const m = event.data;
    const title = document.getElementById('title');
    if (m.type === 'dataset/error') {
      title.className = 'error';
      title.textContent = 'Keypoints: ' + m.message;
      return;
    }
    if (m.type !== 'dataset/show') return;
    title.textContent = m.source;
    document.getElementById('summary').textContent = `${m.rows} faces, ${m.keypoints.length} keypoints; ${m.complete} rows have every keypoint labelled.`;
    const table = document.getElementById('missing');
    table.textContent = '';
    for (const k of m.keypoints) {
      const tr = document.createElement('tr');
      const miss = m.missing[k] || 0;
      for (const text of [k, `missing in ${miss} rows`, `${((100 * miss) / Math.max(1, m.rows)).toFixed(1)}%`]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    const grid = document.getElementById('grid');
    grid.className = 'grid';
    grid.textContent = '';
    for (const s of m.samples) {
      const box = document.createElement('div');
      box.className = 'face';
      const img = document.createElement('img');
      img.src = s.image;
      img.alt = 'row ' + s.row;
      box.appendChild(img);
      const svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('viewBox', `0 0 ${s.width} ${s.height}`);
      for (const p of s.keypoints) {
        const c = document.createElementNS(SVG, 'circle');
        c.setAttribute('cx', p.x);
        c.setAttribute('cy', p.y);
        c.setAttribute('r', 1.3);
        c.setAttribute('fill', /(^|_)left(_|$)/.test(p.name) ? '#00e676' : /(^|_)right(_|$)/.test(p.name) ? '#ff4081' : '#ffd600');
        const t = document.createElementNS(SVG, 'title');
        t.textContent = p.name;
        c.appendChild(t);
        svg.appendChild(c);
      }
      box.appendChild(svg);
      const row = document.createElement('div');
      row.className = 'row';
      row.textContent = `row ${s.row}: ${s.keypoints.length}/${m.keypoints.length} labelled`;
      box.appendChild(row);
      grid.appendChild(box);
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
