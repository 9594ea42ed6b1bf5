/** summary.json: what a finished (or stopped) run reports about itself. */
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { EpochMetrics, TrainingEventMap } from './events.js';

export type TrainSummary = TrainingEventMap['done'] & {
  backend: string;
  trainCount: number;
  valCount: number;
  imagesPerSecond: number;
  preset: string;
  /** Epochs the run planned at its end (fitted to the time limit). */
  plannedEpochs: number;
  /** Validation RMSE as `keypoints evaluate --split val` gives it: flip-averaged, output offsets taken off (train.fitOffsets). */
  finalValRmse?: number;
};

/** Writes summary.json (non-finite numbers as null) and returns the summary. */
export async function writeSummary(
  runDir: string,
  summary: TrainSummary,
  extra: { metrics: EpochMetrics[]; backendNote: string; keypoints: readonly string[]; parameters: number; flopsPerImage: number; dataSource: string },
): Promise<TrainSummary> {
  const { metrics, ...rest } = extra;
  const json = {
    ...summary,
    minutes: summary.seconds / 60,
    trainSeconds: metrics.reduce((s, m) => s + m.seconds, 0),
    ...rest,
    hasModel: summary.bestEpoch > 0,
  };
  await writeFileAtomic(path.join(runDir, 'summary.json'), JSON.stringify(json, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  return summary;
}
