/** Makes text taken from input files safe to print in a one-line message: no control bytes, bounded length. */

// C0/C1 controls, DEL, and the bidirectional overrides that can reorder what a terminal shows.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Control bytes as visible escapes (\n, \t, \x1b, \u202e): they can set a terminal's title or hide text. */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * At most `max` characters: the start and the end kept (a path's file name is at its end) around
 * "…", then the full length, e.g. `/very/lo…/face.png (30000000 chars)`. Escapes control bytes first.
 */
export function clip(s: string, max = 80): string {
  const safe = escapeControls(s);
  if (safe.length <= max) return safe;
  const keep = Math.max(2, max - 1), head = Math.ceil(keep * 0.6), tail = keep - head;
  return `${safe.slice(0, head)}…${safe.slice(safe.length - tail)} (${s.length} chars)`;
}
