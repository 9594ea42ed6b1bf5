// The image with its predicted keypoints drawn over it as SVG, every face; a point's name on hover.
import { addFaceBoxes, byId, connect, keypointLayer, showError } from './api';

connect((m) => {
  const label = byId('label');
  if (m.type === 'overlay/error') {
    showError(label, m.message);
    return;
  }
  if (m.type !== 'overlay/show') return;
  const stage = byId('stage');
  stage.textContent = '';
  const img = document.createElement('img');
  img.src = m.image;
  img.alt = 'image';
  // Small images (Kaggle's 96×96) are scaled up so the points can be told apart.
  img.style.width = `${Math.max(m.width, Math.min(720, m.width * 4))}px`;
  stage.appendChild(img);
  const points = m.faces.flat();
  const layer = keypointLayer(m.width, m.height, points, Math.max(1.2, Math.min(m.width, m.height) / 80));
  addFaceBoxes(layer, m.boxes ?? [], Math.max(1, Math.min(m.width, m.height) / 200));
  stage.appendChild(layer);
  if (m.detected && m.faces.length === 0) {
    showError(label, `the face detector found no face in this image (model ${m.model}).`);
  } else {
    label.className = '';
    label.textContent = `KEYPOINTS: ${points.length} keypoints on ${m.faces.length} face(s) — model ${m.model}`;
  }
  byId('legend').textContent = 'green: subject\u2019s left · pink: subject\u2019s right · yellow: centre line. Hover a point for its name.';
});
