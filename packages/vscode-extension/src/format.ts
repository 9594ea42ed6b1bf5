/** Pure formatting helpers (unit-tested without VS Code). */

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export type TrainerState =
  | { kind: 'starting' }
  | { kind: 'idle'; lastRmse?: number }
  | { kind: 'training'; epoch: number; epochs: number; etaSeconds?: number }
  | { kind: 'error'; message: string }
  | { kind: 'stopped' };

/** The status-bar text and tooltip for a trainer state. */
export function statusText(s: TrainerState): { text: string; tooltip: string } {
  switch (s.kind) {
    case 'starting':
      return { text: '$(sync~spin) Keypoints', tooltip: 'Keypoints: starting the trainer server' };
    case 'idle':
      return { text: '$(pulse) Keypoints' + (s.lastRmse !== undefined ? `: ${s.lastRmse.toFixed(2)} px` : ''), tooltip: 'Keypoints: idle. Click to open the log.' };
    case 'training':
      return {
        text: `$(sync~spin) Keypoints: epoch ${s.epoch}/${s.epochs || '?'}` + (s.etaSeconds !== undefined ? ` · ETA ${formatDuration(s.etaSeconds)}` : ''),
        tooltip: 'Keypoints: training. Click to open the log.',
      };
    case 'error':
      return { text: '$(error) Keypoints', tooltip: `Keypoints: ${s.message}. Click to open the log.` };
    case 'stopped':
      return { text: '$(debug-disconnect) Keypoints', tooltip: 'Keypoints: the trainer server is not running. Click to open the log.' };
  }
}

/** The backend in use beside the status text (e.g. "· webgpu"), its note (what was chosen and why) in the tooltip. */
export function withBackend(st: { text: string; tooltip: string }, backend?: { name: string; note: string }): { text: string; tooltip: string } {
  if (!backend) return st;
  return { text: `${st.text} · ${backend.name}`, tooltip: `${st.tooltip}\nBackend: ${backend.note}` };
}

/** An error's message (or the thrown value as text), for a log line or a page's error line. */
export function errorMessage(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}
