/** Crop geometry shared by reading photo folders (data/read.ts) and predicting on photos (detect/, predict/): where a face sits in a training crop. */

/**
 * TRAINING_FRAMING: where faces96 (and Kaggle, whose averages faces96 copied) puts a face in its
 * 96×96 crops: the midpoint of the eye centres near (48.4, 37.8), the bottom lip near (48.6, 78.9)
 * (data/faces96/README.md). Scaled to any input size.
 */
export interface Framing {
  /** Midpoint of the two eye centres, in pixels of a `size`×`size` crop. */
  eyes: readonly [number, number];
  /** Centre of the bottom lip's lower edge (Kaggle's mouth_center_bottom_lip, iBUG point 57). */
  lip: readonly [number, number];
  size: number;
}

export const TRAINING_FRAMING: Framing = { eyes: [48.4, 37.8], lip: [48.6, 78.9], size: 96 };

/** A square region of a photo, in its pixels (may reach past the photo's edges). */
export interface SquareRegion {
  x: number;
  y: number;
  size: number;
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
 * read.ts cuts photo folders for them and train-68.csv.gz is cut: a square centred on the
 * points' bounding box, its side this multiple of the box's longer side (train-68's points span
 * 9.29…86.71 of 96).
 */
export const POINTS_BOX_MARGIN = 96 / 77.42;

/** The square around labelled points (at least `minPoints` of them), its side at least `minSize`. */
export function cropFromPoints(points: ReadonlyArray<{ x: number; y: number }>, opts: { minPoints?: number; minSize?: number } = {}): SquareRegion | undefined {
  const ok = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (ok.length < (opts.minPoints ?? 3)) return undefined;
  const xs = ok.map((p) => p.x), ys = ok.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const size = Math.max(opts.minSize ?? 0, Math.max(x1 - x0, y1 - y0) * POINTS_BOX_MARGIN);
  return { x: (x0 + x1) / 2 - size / 2, y: (y0 + y1) / 2 - size / 2, size };
}
