/**
 * Every message between the extension host and its webviews, as one union per direction.
 * The webview scripts in media/ are plain JS; they send and receive exactly these shapes.
 */
import type { EpochMetrics } from '@keypoints/core';

export interface OverlayPoint {
  name: string;
  x: number;
  y: number;
}

/** Host -> webview. */
export type ToWebview =
  | { type: 'curves/reset'; runDir: string; title: string; metrics: EpochMetrics[] }
  | { type: 'curves/epoch'; metrics: EpochMetrics }
  | { type: 'curves/status'; text: string }
  | { type: 'overlay/show'; image: string; width: number; height: number; model: string; faces: OverlayPoint[][] }
  | { type: 'overlay/error'; message: string }
  | { type: 'dataset/show'; source: string; rows: number; complete: number; keypoints: string[]; missing: Record<string, number>; samples: Array<{ row: number; image: string; width: number; height: number; keypoints: OverlayPoint[] }> }
  | { type: 'dataset/error'; message: string };

/** Webview -> host. */
export type FromWebview = { type: 'ready' } | { type: 'curves/state'; runDir: string };

/** What the curves panel keeps across reloads (webview state + serializer). */
export interface CurvesState {
  runDir?: string;
}
