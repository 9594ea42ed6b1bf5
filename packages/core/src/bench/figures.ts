/** The bench's figures: medians over rounds, per-thread idle time, and the Markdown table. */
import type { PoolStats } from '../backend/simd/index.js';
import type { BenchRecord, PytorchFigures } from './index.js';

/** Per-step idle ms of each thread and pool calls over `steps` steps lasting `wallMs`, from the pool's counters before and after. */
export function threadFigures(backend: string, before: PoolStats | undefined, after: PoolStats | undefined, wallMs: number, steps: number): Pick<BenchRecord, 'threadIdleMsPerStep' | 'poolCallsPerStep'> {
  if (!before || !after) return { threadIdleMsPerStep: backend === 'wasm' ? [0] : null, poolCallsPerStep: null };
  const main = (after.mainWaitMs - before.mainWaitMs) / steps;
  // max(0, …): the busy sum and the wall clock are read on two threads' clocks.
  const worker = Math.max(0, wallMs - (after.workerBusyMs - before.workerBusyMs)) / steps;
  return { threadIdleMsPerStep: [main, worker], poolCallsPerStep: (after.calls - before.calls) / steps };
}

/** Element-wise medians of per-thread figures over rounds (null when any round has none). */
export function medianPerThread(runs: (number[] | null)[]): number[] | null {
  if (runs.some((r) => !r || r.length !== runs[0]!.length)) return null;
  return runs[0]!.map((_, k) => median(runs.map((r) => r![k]!)));
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The first run with its three speed figures replaced by their medians over the runs. */
export function medianFigures<T extends Pick<PytorchFigures, 'trainImagesPerSec' | 'inferImagesPerSec' | 'predictMs'>>(runs: T[]): T {
  return { ...runs[0]!, trainImagesPerSec: median(runs.map((r) => r.trainImagesPerSec)), inferImagesPerSec: median(runs.map((r) => r.inferImagesPerSec)), predictMs: median(runs.map((r) => r.predictMs)) };
}

const f1 = (v: number | null | undefined) => (v == null ? '–' : v.toFixed(1));
const f2 = (v: number | null | undefined) => (v == null ? '–' : v.toFixed(2) + '×');

/** "66.0 (5.8 · 5.1 / 31.2)": the step, its batch building, and each thread's idle time (main / worker), ms per step. */
function stepCell(r: BenchRecord): string {
  return `${f1(r.stepMs)} (${f1(r.batchMsPerStep)} · ${r.threadIdleMsPerStep ? r.threadIdleMsPerStep.map(f1).join(' / ') : '–'})`;
}

/** The records as a Markdown table (the docs' performance page uses the same). */
export function formatBenchTable(records: BenchRecord[]): string {
  const rows = [
    '| network | engine | batch | train img/s | PyTorch train | ratio | step ms (batch · idle per thread) | infer img/s (b64) | PyTorch infer | predict ms (b1) | PyTorch predict | peak RSS MB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of records) {
    rows.push(
      `| ${r.network} | ${r.engine} | ${r.batch} | ${f1(r.trainImagesPerSec)} | ${f1(r.pytorch?.trainImagesPerSec)} | ${f2(r.trainRatioToPytorch)}${r.trainRatioRange ? ` (${r.trainRatioRange.map((v) => v.toFixed(2)).join('–')})` : ''} | ${stepCell(r)} | ${f1(r.inferImagesPerSec)} | ${f1(r.pytorch?.inferImagesPerSec)} | ${f1(r.predictMs)} | ${f1(r.pytorch?.predictMs)} | ${Math.round(r.peakRssMB)} |`,
    );
  }
  const m = records[0]?.machine;
  const rounds = records[0]?.rounds ?? 1;
  if (m) rows.push('', `Step ms: one training step, in brackets its batch building and the idle time per thread (main / SIMD worker). ${rounds > 1 ? `Medians of ${rounds} rounds (PyTorch and ours alternating; the ratio's range in brackets). ` : ''}Machine: ${m.cpus} × ${m.cpuModel}, Node ${m.node}, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')} at the start. PyTorch: ${records[0].pytorch ? `${records[0].pytorch.version}, ${records[0].pytorch.threads} threads` : records[0].pytorchNote}.`);
  return rows.join('\n');
}
