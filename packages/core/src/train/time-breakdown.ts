/**
 * Where a run's wall time goes (summary.json's timeBreakdownSeconds): a few clock reads around
 * each phase, nothing per image, so a step costs what it did.
 */

/** Seconds of the run (resumes included) in each phase; they add up to the run's `seconds`. */
export interface TimeBreakdown {
  /** Building and augmenting the training batches (makeBatch, on the training thread). */
  batch: number;
  /** The train steps: forward, loss, gradients, optimizer, the train.ema update, reading the loss back. */
  step: number;
  /** Validation after each epoch, with keeping the best weights. */
  validate: number;
  /** Writing: metrics.jsonl, results.csv, checkpoints, model.json + weights.bin, curves, val-faces.png. */
  save: number;
  /** The rest: events and their listeners, yielding to the event loop (a server's requests), planning. */
  other: number;
}

export type TimePhase = Exclude<keyof TimeBreakdown, 'other'>;
const PHASES: readonly TimePhase[] = ['batch', 'step', 'validate', 'save'];

export interface TimeTracker {
  /** Runs fn as one phase. A phase inside another counts as the outer one (a save inside a stop's own). */
  time<T>(phase: TimePhase, fn: () => Promise<T>): Promise<T>;
  timeSync<T>(phase: TimePhase, fn: () => T): T;
  /** The breakdown of `elapsed` seconds (the run's so far, earlier sessions included); a phase under way counts up to now. */
  of(elapsed: number): TimeBreakdown;
}

/**
 * A tracker on `now` (seconds), starting from the phases a checkpoint carried over from earlier
 * sessions. A checkpoint without them (written before these figures) leaves its sessions' time
 * in `other`, as does any value that is not a finite non-negative number.
 */
export function timeTracker(now: () => number, prior?: Partial<Record<TimePhase, unknown>>): TimeTracker {
  const acc = Object.fromEntries(PHASES.map((p) => [p, ok(prior?.[p]) ? (prior![p] as number) : 0])) as Record<TimePhase, number>;
  let open: { phase: TimePhase; start: number } | undefined;
  const enter = (phase: TimePhase) => {
    if (open) return false;
    open = { phase, start: now() };
    return true;
  };
  const leave = () => {
    acc[open!.phase] += now() - open!.start;
    open = undefined;
  };
  return {
    async time(phase, fn) {
      if (!enter(phase)) return fn();
      try {
        return await fn();
      } finally {
        leave();
      }
    },
    timeSync(phase, fn) {
      if (!enter(phase)) return fn();
      try {
        return fn();
      } finally {
        leave();
      }
    },
    of(elapsed) {
      const out = { ...acc };
      if (open) out[open.phase] += now() - open.start;
      return { ...out, other: elapsed - PHASES.reduce((s, p) => s + out[p], 0) };
    },
  };
}

function ok(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Phase by phase sums (runs one after another, e.g. a specialists run's groups). */
export function addBreakdowns(parts: TimeBreakdown[]): TimeBreakdown {
  const sum = (k: keyof TimeBreakdown) => parts.reduce((s, p) => s + p[k], 0);
  return { batch: sum('batch'), step: sum('step'), validate: sum('validate'), save: sum('save'), other: sum('other') };
}

/** "steps 80 %, batches 9 %, validation 4 %, saving 5 %, other 2 %" (the CLI's end-of-run line). */
export function formatBreakdown(b: TimeBreakdown): string {
  const total = b.batch + b.step + b.validate + b.save + b.other;
  const pct = (v: number) => `${total > 0 ? Math.round((100 * v) / total) : 0} %`;
  return `steps ${pct(b.step)}, batches ${pct(b.batch)}, validation ${pct(b.validate)}, saving ${pct(b.save)}, other ${pct(b.other)}`;
}
