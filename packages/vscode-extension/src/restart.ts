/** When the extension restarts its trainer server by itself: after an exit or when it stops answering, a few times, then it asks. No vscode import: unit-tested. */

/** Restarts allowed within a window; past that the server is crashing in a loop and the user is asked instead. */
export class RestartPolicy {
  private readonly times: number[] = [];
  constructor(
    private readonly max = 3,
    private readonly windowMs = 180_000,
  ) {}

  /** Whether to restart now, counting this restart when it is allowed. */
  allow(now: number): boolean {
    while (this.times.length && now - this.times[0]! > this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
}

/** Whether `ask()` settles within `ms` (an error reply counts: the server answered). */
export function answersWithin(ask: () => Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    ask().then(done, done);
  });
}

/**
 * A liveness check every `everyMs`: `onDeaf` runs once when a probe goes unanswered for `timeoutMs`
 * (the server runs requests between training batches, so the timeout is generous). Returns a stop function.
 */
export function watchLiveness(probe: () => Promise<unknown>, onDeaf: () => void, everyMs = 30_000, timeoutMs = 60_000): () => void {
  let stopped = false, busy = false;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    void answersWithin(probe, timeoutMs).then((ok) => {
      busy = false;
      if (!ok && !stopped) {
        stopped = true;
        clearInterval(timer);
        onDeaf();
      }
    });
  }, everyMs);
  timer.unref?.();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
