export { writeCurves, curvesSvg, curvesHtml, niceTicks } from './curves.js';
export { renderOverlay, overlaySvg, shortLabel, type LabelledPoint } from './overlay.js';
export { svgToPng } from './svg.js';
