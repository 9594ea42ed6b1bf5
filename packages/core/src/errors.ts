/** Errors a user can act on, and the one code vocabulary every shell reports failures with. */
import type { InputLocation } from './data/types.js';
import { clip } from './util/text.js';

/** Longest message printed: long enough for any sentence we write, short enough that an echoed field can't flood a terminal. */
const MAX_MESSAGE = 600;

/**
 * An error caused by the user's input or settings, not by a bug: the CLI prints its message alone
 * (no stack trace) and exits with `exitCode`; the server sends it with a code.
 */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    // Messages quote input (names, fields, paths): no control bytes and bounded lines, whoever built
    // it. Line breaks are kept: a config error lists one bad field a line.
    super(message.split('\n').slice(0, 40).map((line) => clip(line, MAX_MESSAGE)).join('\n'));
  }
}

/** A malformed input file: the message always names the file and, where known, the row and field. */
export class InputError extends UserError {
  override readonly name = 'InputError';
  constructor(
    readonly location: InputLocation,
    readonly problem: string,
  ) {
    super(formatLocation(location) + ': ' + clip(problem, 400), 3);
  }
}

export function formatLocation(loc: InputLocation): string {
  let s = clip(loc.file, 200);
  if (loc.row !== undefined) s += `, row ${loc.row}`;
  if (loc.field !== undefined) s += `, field "${clip(loc.field, 60)}"`;
  return s;
}

/** A value from the input, quoted for a message: escaped and at most `max` characters. */
export function quoteInput(s: string, max = 40): string {
  return `"${clip(s, max)}"`;
}

/** Exit codes shared by the CLI and documented in its reference. */
export const ExitCode = {
  ok: 0,
  /** Unexpected failure (a bug): stack trace printed. */
  internal: 1,
  /** Bad flags or config. */
  usage: 2,
  /** Malformed input file. */
  input: 3,
  /** evaluate: RMSE above --max-rmse. */
  gateFailed: 4,
  /** train: diverged (NaN or exploding loss); best weights kept. */
  diverged: 5,
  /** predict: the face detector found no face in an image (the other images' results are printed). */
  noFace: 6,
  /** Interrupted by the user (Ctrl-C / stop request); checkpoint saved. */
  interrupted: 130,
} as const;

/**
 * Every failure's code, one vocabulary for the CLI (exit codes, `--json` error events), the
 * server (JSON-RPC error codes, `train/event` errors) and the extension's messages.
 * `server-exit` is the extension's own: the server process ended during a run.
 */
export type ErrorCode = 'user' | 'input' | 'busy' | 'not-found' | 'cancelled' | 'internal' | 'server-exit';

/**
 * Work stopped because its caller cancelled it (the server's `$/cancelRequest`, an AbortSignal):
 * neither a user mistake nor a bug. Readers throw it between chunks or rows once their signal fires.
 */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(what = 'the request') {
    super(`${what} was cancelled`);
  }
}

/** Throws a CancelledError once `signal` has fired (cheap: call it between chunks, rows or files). */
export function throwIfCancelled(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/** The code of a thrown value: InputError, UserError, CancelledError, or anything else (a bug). */
export function errorCodeOf(err: unknown): ErrorCode {
  if (err instanceof InputError) return 'input';
  if (err instanceof UserError) return 'user';
  if (err instanceof CancelledError) return 'cancelled';
  return 'internal';
}

/** The CLI's exit code for each error code. */
export const EXIT_CODE_OF: Record<ErrorCode, number> = { user: ExitCode.usage, input: ExitCode.input, busy: ExitCode.usage, 'not-found': ExitCode.usage, cancelled: ExitCode.interrupted, internal: ExitCode.internal, 'server-exit': ExitCode.internal };

