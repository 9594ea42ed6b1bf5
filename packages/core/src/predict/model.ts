/**
 * What predict and evaluate need of a trained network, apart from how it is stored or run:
 * keypoint names, the input size, and a batch function returning pixel coordinates
 * (n × keypoints × 2, in the size×size input's pixels).
 */
export interface KeypointModel {
  readonly keypoints: readonly string[];
  readonly imageSize: number;
  predict(x: Float32Array, n: number): Float32Array | Promise<Float32Array>;
}
