/**
 * Messages between the VS Code extension host and its webviews (`postMessage`), one union per
 * direction. Types only: the extension and the webview scripts (bundled for the browser) import
 * them, so both sides of every message are checked by the compiler.
 */
import type { EpochMetrics } from '../train/events.js';
import type { CompareResult, DatasetInfoResult, DatasetSample } from './index.js';

export interface OverlayPoint {
  name: string;
  x: number;
  y: number;
}

/** Extension host -> learning-curves panel. */
export type ToCurves =
  | { type: 'curves/reset'; runDir: string; title: string; metrics: EpochMetrics[] }
  | { type: 'curves/epoch'; metrics: EpochMetrics }
  | { type: 'curves/status'; text: string };

/** A detected face's box in the image's pixels, with the detector's score. */
export interface OverlayFaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** Extension host -> overlay custom editor. */
export type ToOverlay =
  | {
      type: 'overlay/show';
      image: string;
      width: number;
      height: number;
      model: string;
      faces: OverlayPoint[][];
      /** The detector's box of each face, parallel to `faces` (absent: the whole image was the face). */
      boxes?: Array<OverlayFaceBox | null>;
      /** True when a face detector looked for the faces (an empty `faces` then means none was found). */
      detected?: boolean;
    }
  | { type: 'overlay/error'; message: string };

/** Extension host -> dataset preview. */
export type ToDataset =
  | ({ type: 'dataset/show'; samples: DatasetSample[] } & Pick<DatasetInfoResult, 'source' | 'rows' | 'complete' | 'keypoints' | 'missing'>)
  | { type: 'dataset/error'; message: string };

/** Extension host -> compare-runs panel: the table's cells (as `keypoints compare` prints them) and each run's curves, in the table's order. */
export type ToCompare =
  | ({ type: 'compare/show' } & Pick<CompareResult, 'cells' | 'runs'>)
  | { type: 'compare/error'; message: string };

/** Extension host -> evaluation panel: the summary, the per-keypoint table and the three pictures (data: URIs; absent when none was written). */
export type ToEvaluation =
  | {
      type: 'evaluation/show';
      title: string;
      /** Sentences: what was scored, overall RMSE and NME, CED figures. */
      summary: string[];
      table: { head: string[]; rows: string[][] };
      pictures: { perKeypoint?: string; ced?: string; worst?: string };
    }
  | { type: 'evaluation/error'; message: string };

export type ToWebview = ToCurves | ToOverlay | ToDataset | ToCompare | ToEvaluation;

/** Webview -> extension host: each page says `ready` once its listener is installed. */
export type FromWebview = { type: 'ready' };

/** What the curves panel keeps across reloads (webview state, handed to the serializer). */
export interface CurvesState {
  runDir?: string;
}
