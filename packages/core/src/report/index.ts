export { writeCurves, curvesSvg, curvesHtml, niceTicks, tickLabels } from './curves.js';
export { renderOverlay, overlaySvg, overlayBody, shortLabel, type LabelledPoint, type OverlayOptions, type OverlayBox } from './overlay.js';
export { svgToPng } from './svg.js';
export { cedSvg, cropTile, EVALUATION_PICTURES, perKeypointSvg, worstSvg, writeEvaluationPictures, type CedLine, type FaceTile } from './evaluation.js';
export { resultsCsv } from './results.js';
export { renderValFaces, valFacesSvg, type ValFacesOptions } from './val-faces.js';
