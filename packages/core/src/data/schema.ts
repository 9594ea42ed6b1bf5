/** Kaggle's 15 keypoints, in its column order. Names describe the subject: left_eye is on the image's right. */
export const KAGGLE_KEYPOINTS = [
  'left_eye_center',
  'right_eye_center',
  'left_eye_inner_corner',
  'left_eye_outer_corner',
  'right_eye_inner_corner',
  'right_eye_outer_corner',
  'left_eyebrow_inner_end',
  'left_eyebrow_outer_end',
  'right_eyebrow_inner_end',
  'right_eyebrow_outer_end',
  'nose_tip',
  'mouth_left_corner',
  'mouth_right_corner',
  'mouth_center_top_lip',
  'mouth_center_bottom_lip',
] as const;

/** iBUG 300-W 68-point mirror pairs (0-based): jaw, brows, nose, eyes, outer and inner lips. */
const IBUG68_PAIRS: Array<[number, number]> = [
  ...Array.from({ length: 8 }, (_, i) => [i, 16 - i] as [number, number]),
  ...Array.from({ length: 5 }, (_, i) => [17 + i, 26 - i] as [number, number]),
  [31, 35], [32, 34],
  [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46],
  [48, 54], [49, 53], [50, 52], [59, 55], [58, 56],
  [60, 64], [61, 63], [67, 65],
];

/**
 * Index pairs of keypoints that swap under a horizontal flip. Derived from the names: a name with
 * "left" anywhere (any case: left_eye_center, mouth_left_corner, LeftEar) pairs with the
 * same name with "right" there (same case). The 68-point set p00…p67 uses the iBUG correspondence.
 */
export function flipPairs(names: readonly string[]): Array<[number, number]> {
  if (names.length === 68 && names.every((n, i) => n === `p${String(i).padStart(2, '0')}`)) return IBUG68_PAIRS.map((p) => [...p] as [number, number]);
  const pairs: Array<[number, number]> = [];
  const index = new Map(names.map((n, i) => [n, i]));
  names.forEach((name, i) => {
    const m = /left/i.exec(name);
    if (!m) return;
    const word = m[0] === 'LEFT' ? 'RIGHT' : m[0][0] === 'L' ? 'Right' : 'right';
    const j = index.get(name.slice(0, m.index) + word + name.slice(m.index + 4));
    if (j !== undefined && j !== i) pairs.push([i, j]);
  });
  return pairs;
}

/** For each keypoint, the index it takes after a flip (itself when unpaired). */
export function flipPermutation(names: readonly string[]): Int32Array {
  const perm = Int32Array.from(names, (_, i) => i);
  for (const [a, b] of flipPairs(names)) {
    perm[a] = b;
    perm[b] = a;
  }
  return perm;
}
