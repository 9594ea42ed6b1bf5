/** results.csv: one row per epoch, the figures of metrics.jsonl in a form a spreadsheet opens. */
import type { EpochMetrics } from '../train/events.js';

/** Column names (snake_case, units in the name) and how each is read from an epoch's metrics. */
const COLUMNS: Array<[string, (m: EpochMetrics) => number | boolean]> = [
  ['epoch', (m) => m.epoch],
  ['train_loss', (m) => m.trainLoss],
  ['val_loss', (m) => m.valLoss],
  ['val_rmse_px', (m) => m.valRmse],
  ['learning_rate', (m) => m.learningRate],
  ['seconds', (m) => m.seconds],
  ['images_per_second', (m) => m.imagesPerSecond],
  ['elapsed_seconds', (m) => m.elapsedSeconds],
  ['best', (m) => m.best],
];

/** An empty cell for a value that is not a finite number (no validation rows: NaN losses). */
function cell(v: number | boolean): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  return Number.isFinite(v) ? String(Number(v.toPrecision(7))) : '';
}

export function resultsCsv(metrics: readonly EpochMetrics[]): string {
  return [COLUMNS.map((c) => c[0]).join(','), ...metrics.map((m) => COLUMNS.map(([, f]) => cell(f(m))).join(','))].join('\n') + '\n';
}
