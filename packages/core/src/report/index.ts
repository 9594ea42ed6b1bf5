export { writeCurves, curvesSvg, curvesHtml, niceTicks, tickLabels } from './curves.js';
export { renderOverlay, overlaySvg, shortLabel, type LabelledPoint, type OverlayOptions, type OverlayBox } from './overlay.js';
export { svgToPng } from './svg.js';
export { resultsCsv } from './results.js';
export { renderValFaces, valFacesSvg, type ValFacesOptions } from './val-faces.js';
