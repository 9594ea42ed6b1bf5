import { ExitCode, UserError } from '@keypoints/core';
import { colours as c } from './style.js';

/** User errors print one line, no stack trace; anything else is a bug and keeps its stack. */
export function reportError(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`${c.red('keypoints:')} ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as { code?: string; exitCode?: number; message?: string };
  // commander has already printed its message; help and --version are not errors.
  if (e?.code?.startsWith?.('commander.')) return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  process.stderr.write(`keypoints: internal error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
  return ExitCode.internal;
}
