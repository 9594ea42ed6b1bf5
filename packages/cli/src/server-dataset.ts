/** The server's dataset requests (the extension's dataset preview): one shared, cancellable parse per file. */
import * as core from '@keypoints/core';
import { protocol as P } from '@keypoints/core';

/** Settles with `work`, or rejects with a CancelledError as soon as `signal` fires (the work may go on for others). */
function untilCancelled<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new core.CancelledError(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new core.CancelledError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Reads of one file asked for at once (the preview asks for info and samples together) share one
 * parse. A request's cancel stops only its own wait; the parse stops when every request waiting
 * on it has been cancelled, so one cancelled preview tab never fails another.
 */
export function datasetReader(onStopped: (file: string) => void) {
  const reading = new Map<string, { set: Promise<core.FaceSet>; controller: AbortController; waiting: number }>();
  return async (file: string, signal: AbortSignal): Promise<core.FaceSet> => {
    let r = reading.get(file);
    if (!r) {
      const controller = new AbortController();
      const entry = { controller, waiting: 0, set: core.readFaceSet(file, { signal: controller.signal }) };
      // Nobody may be waiting when it fails (all cancelled): not an unhandled rejection.
      entry.set
        .catch((err: unknown) => void (err instanceof core.CancelledError && onStopped(file)))
        .finally(() => reading.get(file) === entry && reading.delete(file));
      reading.set(file, (r = entry));
    }
    const entry = r;
    entry.waiting++;
    try {
      return await untilCancelled(entry.set, signal, `reading ${file}`);
    } finally {
      if (--entry.waiting === 0 && signal.aborted) {
        // A later request for this file starts a fresh parse rather than joining the stopped one.
        if (reading.get(file) === entry) reading.delete(file);
        entry.controller.abort();
      }
    }
  };
}

export function datasetInfo(set: core.FaceSet): P.DatasetInfoResult {
  let complete = 0;
  for (let r = 0; r < set.count; r++) if (core.isComplete(set, r)) complete++;
  return { source: set.source, rows: set.count, width: set.width, height: set.height, keypoints: [...set.keypoints], complete, missing: core.missingCounts(set) };
}

/** PNG-encodes a page of faces; yields to the event loop every few faces so a cancel can arrive and stop it. */
export async function datasetSamples(set: core.FaceSet, p: P.DatasetSamplesParams, signal: AbortSignal): Promise<{ samples: P.DatasetSample[] }> {
  const S = set.width * set.height, K = set.keypoints.length;
  const from = Math.max(0, p.offset ?? 0), to = Math.min(set.count, from + Math.max(0, p.count));
  const samples: P.DatasetSample[] = [];
  for (let r = from; r < to; r++) {
    if ((r - from) % 16 === 15) {
      await new Promise((resolve) => setImmediate(resolve));
      core.throwIfCancelled(signal, `encoding samples of ${set.source}`);
    }
    const png = core.encodePng(core.grayToRgba(set.pixels.subarray(r * S, (r + 1) * S), set.width, set.height));
    samples.push({
      row: set.rows[r]!,
      image: 'data:image/png;base64,' + Buffer.from(png).toString('base64'),
      width: set.width,
      height: set.height,
      keypoints: set.keypoints.map((name, k) => ({ name, x: set.coords[(r * K + k) * 2]!, y: set.coords[(r * K + k) * 2 + 1]! })).filter((k) => Number.isFinite(k.x) && Number.isFinite(k.y)),
    });
  }
  return { samples };
}
