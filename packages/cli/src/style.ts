/** Colour and quietness for what the CLI writes to people (stderr): NO_COLOR / FORCE_COLOR honoured, plain when not a terminal. */
import pc from 'picocolors';

/**
 * FORCE_COLOR (any value but 0/false) turns colour on, NO_COLOR (non-empty) off
 * (https://no-color.org), else colour only when stderr, where the messages go, is a terminal.
 */
export function colourWanted(env: NodeJS.ProcessEnv = process.env, isTTY = !!process.stderr.isTTY): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (force === '0' || force === 'false') return false;
  if (env.NO_COLOR) return false;
  return isTTY && env.TERM !== 'dumb';
}

export const colours = pc.createColors(colourWanted());

let quiet = false;
/** --quiet: only results, warnings and errors (no progress bar, no per-epoch lines, no notes). */
export function setQuiet(q: boolean): void {
  quiet = q;
}
export const isQuiet = (): boolean => quiet;

/** A note for people (which run was taken, …): stderr, unless --quiet. */
export function note(text: string): void {
  if (!quiet) process.stderr.write(text + '\n');
}
