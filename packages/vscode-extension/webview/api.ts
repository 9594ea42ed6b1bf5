/**
 * What a webview page gets from VS Code, typed with the protocol's message unions: a page can only
 * post `FromWebview` messages and only handles `ToWebview` ones.
 */
import type { FromWebview, ToWebview } from '@keypoints/core/protocol';

interface VsCodeApi<State> {
  postMessage(message: FromWebview): void;
  getState(): State | undefined;
  setState(state: State): void;
}
declare function acquireVsCodeApi<State>(): VsCodeApi<State>;

/** Installs the message listener, then tells the host it is ready (the host sends nothing before). */
export function connect<State = unknown>(onMessage: (m: ToWebview) => void): VsCodeApi<State> {
  const api = acquireVsCodeApi<State>();
  window.addEventListener('message', (event: MessageEvent<ToWebview>) => onMessage(event.data));
  api.postMessage({ type: 'ready' });
  return api;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A page's one-line error in place of its heading, as every page shows it. */
export function showError(el: HTMLElement, message: string): void {
  el.className = 'error';
  el.textContent = `Keypoints: ${message}`;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Kaggle names the subject's sides: left points green, right pink, centre line yellow. */
export function keypointColour(name: string): string {
  return /(^|_)left(_|$)/.test(name) ? '#00e676' : /(^|_)right(_|$)/.test(name) ? '#ff4081' : '#ffd600';
}

/** An SVG layer in the image's own pixel coordinates with one named circle per keypoint. */
export function keypointLayer(width: number, height: number, points: Array<{ name: string; x: number; y: number }>, radius: number): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  for (const p of points) {
    const c = document.createElementNS(SVG_NS, 'circle');
    c.setAttribute('cx', String(p.x));
    c.setAttribute('cy', String(p.y));
    c.setAttribute('r', String(radius));
    c.setAttribute('fill', keypointColour(p.name));
    c.setAttribute('class', 'keypoint');
    c.dataset.name = p.name;
    const title = document.createElementNS(SVG_NS, 'title'); // the name on hover
    title.textContent = `${p.name} (${p.x.toFixed(1)}, ${p.y.toFixed(1)})`;
    c.appendChild(title);
    svg.appendChild(c);
  }
  return svg;
}

/** Outlines of detected faces (image pixels), each with its score, added to a keypoint layer. */
export function addFaceBoxes(svg: SVGSVGElement, boxes: Array<{ x: number; y: number; width: number; height: number; score: number } | null>, stroke: number): void {
  boxes.forEach((b, i) => {
    if (!b) return;
    const r = document.createElementNS(SVG_NS, 'rect');
    r.setAttribute('x', String(b.x));
    r.setAttribute('y', String(b.y));
    r.setAttribute('width', String(b.width));
    r.setAttribute('height', String(b.height));
    r.setAttribute('class', 'face-box');
    r.setAttribute('fill', 'none');
    r.setAttribute('stroke', '#00e5ff');
    r.setAttribute('stroke-width', String(stroke));
    r.dataset.face = String(i + 1);
    const title = document.createElementNS(SVG_NS, 'title');
    title.textContent = `face ${i + 1}: score ${b.score.toFixed(2)}`;
    r.appendChild(title);
    svg.insertBefore(r, svg.firstChild); // under the points
  });
}
