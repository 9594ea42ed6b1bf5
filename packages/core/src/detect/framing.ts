import type { DetectorName } from './weights.js';
import type { FaceBox } from './nms.js';

/**
 * How a face sits in a training crop, and how to cut that crop out of a photo. Every constant of
 * the photo path's framing is here.
 *
 * TRAINING_FRAMING: where faces96 (and Kaggle, whose averages faces96 copied) puts a face in its
 * 96×96 crops: the midpoint of the eye centres near (48.4, 37.8), the bottom lip near (48.6, 78.9)
 * (data/faces96/README.md). Scaled to any input size.
 *
 * BOX_FRAMING: the detector's box → that crop. Fitted on the even-numbered half (alphabetical) of
 * faces96/photos (60 faces, 68-point truth: eye midpoint = mean of points 36–47, bottom lip =
 * point 57; the target crop has the eye midpoint and lip where TRAINING_FRAMING says, side from
 * their distance), as medians of side / √(box area) and of the centre's offset from the box centre
 * in units of √(box area). Measured with scripts kept out of the repo; the figures on the odd half
 * are in packages/core/README.md ("Predicting on photos").
 */
export interface Framing {
  /** Midpoint of the two eye centres, in pixels of a `size`×`size` crop. */
  eyes: readonly [number, number];
  /** Centre of the bottom lip's lower edge (Kaggle's mouth_center_bottom_lip, iBUG point 57). */
  lip: readonly [number, number];
  size: number;
}

export const TRAINING_FRAMING: Framing = { eyes: [48.4, 37.8], lip: [48.6, 78.9], size: 96 };

/** crop side = scale·√(w·h); crop centre = box centre + (dx, dy)·√(w·h). */
export interface BoxFraming {
  scale: number;
  dx: number;
  dy: number;
}

export const BOX_FRAMING: Record<DetectorName, BoxFraming> = {
  // Fitted with DEFAULT_MARGINS ([0, 1]) and min score 0.5, on 59 (tiny) and 57 (ssd) faces found in the fitting half.
  tiny: { scale: 1.006, dx: 0.025, dy: -0.102 },
  ssd: { scale: 1.222, dx: 0.035, dy: 0.016 },
};

/** A square region of a photo, in its pixels (may reach past the photo's edges). */
export interface SquareRegion {
  x: number;
  y: number;
  size: number;
}

/** The training-style crop for a detected face. */
export function cropFromBox(box: FaceBox, detector: DetectorName): SquareRegion {
  const f = BOX_FRAMING[detector];
  const unit = Math.sqrt(box.width * box.height);
  const size = f.scale * unit;
  const cx = box.x + box.width / 2 + f.dx * unit, cy = box.y + box.height / 2 + f.dy * unit;
  return { x: cx - size / 2, y: cy - size / 2, size };
}

/**
 * The training-style crop from the eye midpoint and bottom lip (e.g. a first prediction's): the
 * side from their distance, placed so both land where the training crops have them.
 */
export function cropFromLandmarks(eyes: readonly [number, number], lip: readonly [number, number], framing: Framing = TRAINING_FRAMING): SquareRegion {
  const ref = Math.hypot(framing.lip[0] - framing.eyes[0], framing.lip[1] - framing.eyes[1]);
  const size = (Math.hypot(lip[0] - eyes[0], lip[1] - eyes[1]) * framing.size) / ref;
  const k = size / framing.size;
  // Least-squares placement of both points (their mean lands on the mean of the reference points).
  const mx = (eyes[0] + lip[0]) / 2 - ((framing.eyes[0] + framing.lip[0]) / 2) * k;
  const my = (eyes[1] + lip[1]) / 2 - ((framing.eyes[1] + framing.lip[1]) / 2) * k;
  return { x: mx, y: my, size };
}

/**
 * Keypoint sets without Kaggle's eye and lip names (e.g. iBUG's 68 points) are framed the way
 * data/read.ts cuts photo folders for them and train-68.csv.gz is cut: a square centred on the
 * points' bounding box, its side this multiple of the box's longer side (train-68's points span
 * 9.29…86.71 of 96).
 */
export const POINTS_BOX_MARGIN = 96 / 77.42;

export function cropFromPoints(points: ReadonlyArray<{ x: number; y: number }>): SquareRegion | undefined {
  const ok = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (ok.length < 3) return undefined;
  const xs = ok.map((p) => p.x), ys = ok.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const size = Math.max(x1 - x0, y1 - y0) * POINTS_BOX_MARGIN;
  return { x: (x0 + x1) / 2 - size / 2, y: (y0 + y1) / 2 - size / 2, size };
}
