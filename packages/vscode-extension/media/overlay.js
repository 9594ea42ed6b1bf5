// The image with predicted keypoints drawn over it as SVG; each point is named on hover (<title>).
(function () {
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const colour = (name) => (/(^|_)left(_|$)/.test(name) ? '#00e676' : /(^|_)right(_|$)/.test(name) ? '#ff4081' : '#ffd600');
  window.addEventListener('message', (event) => {
    const m = event.data;
    const label = document.getElementById('label');
    if (m.type === 'overlay/error') {
      label.className = 'error';
      label.textContent = 'Keypoints: ' + m.message;
      return;
    }
    if (m.type !== 'overlay/show') return;
    const stage = document.getElementById('stage');
    stage.textContent = '';
    const img = document.createElement('img');
    img.src = m.image;
    img.alt = 'image';
    img.style.width = Math.max(m.width, Math.min(720, m.width * 4)) + 'px';
    stage.appendChild(img);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${m.width} ${m.height}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    const r = Math.max(1.2, Math.min(m.width, m.height) / 80);
    let n = 0;
    for (const face of m.faces) {
      for (const p of face) {
        const c = document.createElementNS(SVG, 'circle');
        c.setAttribute('cx', p.x);
        c.setAttribute('cy', p.y);
        c.setAttribute('r', r);
        c.setAttribute('fill', colour(p.name));
        c.setAttribute('class', 'keypoint');
        c.dataset.name = p.name;
        const t = document.createElementNS(SVG, 'title');
        t.textContent = `${p.name} (${p.x.toFixed(1)}, ${p.y.toFixed(1)})`;
        c.appendChild(t);
        svg.appendChild(c);
        n++;
      }
    }
    stage.appendChild(svg);
    label.textContent = `KEYPOINTS: ${n} keypoints on ${m.faces.length} face(s) — model ${m.model}`;
    document.getElementById('legend').textContent = 'green: subject\u2019s left · pink: subject\u2019s right · yellow: centre line. Hover a point for its name.';
  });
  vscode.postMessage({ type: 'ready' });
})();
