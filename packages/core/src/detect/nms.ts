/** A detected face: a box in the photo's pixels (origin at the top-left pixel's corner) and the detector's score in [0, 1]. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
  /** Found by a second look below the min score (see DetectOptions.secondLook): kept only when the framing check passes. */
  secondLook?: boolean;
}

export function iou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Greedy non-maximum suppression, best score first (as face-api does for both of its detectors). */
export function nonMaxSuppression(boxes: FaceBox[], iouThreshold: number, maxResults = 100): FaceBox[] {
  const kept: FaceBox[] = [];
  for (const b of [...boxes].sort((p, q) => q.score - p.score)) {
    if (kept.length >= maxResults) break;
    if (kept.every((k) => iou(k, b) <= iouThreshold)) kept.push(b);
  }
  return kept;
}
