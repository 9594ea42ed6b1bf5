export { detectFaces, loadFaceDetector, DEFAULT_DETECTOR, DEFAULT_MIN_SCORE, DEFAULT_MARGINS, DEFAULT_SECOND_LOOK, type DetectOptions } from './detector.js';
export { BOX_FRAMING, TRAINING_FRAMING, cropFromBox, cropFromLandmarks, cropFromPoints, POINTS_BOX_MARGIN, type BoxFraming, type Framing, type SquareRegion } from './framing.js';
export { iou, nonMaxSuppression, type FaceBox } from './nms.js';
export { DETECTOR_DIR_ENV, DETECTOR_FILES, locateDetectorDir, type DetectorName } from './weights.js';
