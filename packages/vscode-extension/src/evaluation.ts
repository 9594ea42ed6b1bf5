/** The Evaluate command's result as text: summary lines and the per-keypoint table (pure, unit-tested without VS Code). */
import type { EvaluateResult } from '@keypoints/core/protocol';

const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(2)} %` : 'n/a');
const px = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'n/a');

/** Summary sentences: the notes, overall RMSE and NME, the CED's AUC and failures, faces missed. */
export function evaluationSummary(r: EvaluateResult, data: string): string[] {
  const norm = Object.entries(r.normalisers ?? {}).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    ...(r.notes ?? []),
    `${data}: ${r.rows} faces, ${r.count} labelled coordinates`,
    `RMSE ${px(r.rmse)} px · NME ${pct(r.nme)} over ${r.faces} faces${norm ? ` (normalised by ${norm})` : ''}`,
    `CED: AUC@10% ${r.ced.auc.toFixed(3)}, failures (NME > 10 %${r.missed ? ' or not found' : ''}) ${pct(r.ced.failureRate)}${r.missed ? `; ${r.missed} faces not found` : ''}`,
  ];
}

/** One row per keypoint: name, RMSE in px, NME, labelled coordinates. */
export function evaluationTable(r: EvaluateResult): { head: string[]; rows: string[][] } {
  return {
    head: ['keypoint', 'RMSE px', 'NME', 'coords'],
    rows: Object.entries(r.perKeypoint).map(([name, v]) => [name, px(v.rmse), pct(v.nme), String(v.count)]),
  };
}
