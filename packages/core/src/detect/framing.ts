/** Cutting a training-style crop around a detected face; the crop geometry itself is data/framing.ts. */
import type { DetectorName } from './weights.js';
import type { FaceBox } from './nms.js';
import type { SquareRegion } from '../data/framing.js';

export { cropFromLandmarks, cropFromPoints, POINTS_BOX_MARGIN, TRAINING_FRAMING, type Framing, type SquareRegion } from '../data/framing.js';

/**
 * How to cut a training-style crop out of a photo around a detected face (the crop geometry itself
 * is data/framing.ts, shared with reading photo folders).
 *
 * BOX_FRAMING: the detector's box → that crop. Fitted on the even-numbered half (alphabetical) of
 * faces96/photos (60 faces, 68-point truth: eye midpoint = mean of points 36–47, bottom lip =
 * point 57; the target crop has the eye midpoint and lip where TRAINING_FRAMING says, side from
 * their distance), as medians of side / √(box area) and of the centre's offset from the box centre
 * in units of √(box area). Measured with scripts kept out of the repo; the figures on the odd half
 * are in packages/core/README.md ("Predicting on photos").
 */

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

/** The training-style crop for a detected face. */
export function cropFromBox(box: FaceBox, detector: DetectorName): SquareRegion {
  const f = BOX_FRAMING[detector];
  const unit = Math.sqrt(box.width * box.height);
  const size = f.scale * unit;
  const cx = box.x + box.width / 2 + f.dx * unit, cy = box.y + box.height / 2 + f.dy * unit;
  return { x: cx - size / 2, y: cy - size / 2, size };
}

