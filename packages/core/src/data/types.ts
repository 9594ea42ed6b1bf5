/**
 * The in-memory face set every reader produces and every consumer reads.
 * Flat typed arrays (not arrays of objects) so 3,461 faces of 96×96 cost 128 MB, not gigabytes,
 * and batches are plain subarray copies.
 */
export interface FaceSet {
  /** Where the rows came from (a file path, or "synthetic"), used in messages. */
  readonly source: string;
  readonly width: number;
  readonly height: number;
  /** Keypoint names in column order, e.g. "left_eye_center" (without the _x/_y suffix). */
  readonly keypoints: readonly string[];
  readonly count: number;
  /** count × height × width grayscale pixels scaled to [0, 1], row-major. */
  readonly pixels: Float32Array;
  /** count × keypoints × 2 coordinates (x, y) in pixels of the width×height image; NaN where missing. */
  readonly coords: Float32Array;
  /** Row numbers in the source file (1-based, header = row 1) so errors and reports can name rows. */
  readonly rows: Int32Array;
}

/** Where one problem in an input file sits, for error messages that name file, row and field. */
export interface InputLocation {
  file: string;
  row?: number;
  field?: string;
}
