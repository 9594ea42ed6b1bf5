/** A training request (new run or resume) made into the trainer's options: settings resolved, folder named; the CLI and the server both call it. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { deepMerge, resolveConfig } from '../config/resolve.js';
import { InputError, UserError } from '../errors.js';
import type { TrainTarget } from './trainer.js';

/** A new run: settings as in a *.keypoints.json file, layered as file < settings. */
export interface NewRunRequest {
  /** A *.keypoints.json file to start from. */
  configFile?: string;
  /** Settings over the file (CLI flags, the server's params). */
  settings?: Record<string, unknown>;
  /** Where the settings came from, for error messages ("flags", "train/start config"). */
  source?: string;
  /** The run folder; default `<runsFolder>/<time>-<preset>`. */
  runDir?: string;
  /** Where new run folders go by default (default `runs`). */
  runsFolder?: string;
}

/** The continuation of a run folder from its checkpoint: its config.json decides everything else. */
export interface ResumeRequest {
  resume: string;
}

export type TrainRequest = NewRunRequest | ResumeRequest;

export const isResume = (r: TrainRequest): r is ResumeRequest => typeof (r as ResumeRequest).resume === 'string';

/**
 * The one rule for resume: a resumed run is the same run, so settings given beside it are refused
 * (not silently ignored). `given` names them as the caller's user wrote them (`--epochs`, `config`),
 * `resumeName` names resume itself (`--resume`, `resume`).
 */
export function trainRequest(input: { resume?: string; resumeName: string; given: string[] }, newRun: () => NewRunRequest): TrainRequest {
  const { resume, resumeName, given } = input;
  if (resume === undefined) return newRun();
  if (given.length) {
    throw new UserError(`${resumeName} continues ${resume} with the settings saved in its config.json; ${given.join(', ')} cannot be combined with it (start a new run instead)`);
  }
  return { resume };
}

/** The run folder's default name: UTC time to the second, then the preset (`20261203-101500-default`). */
export function runFolderName(preset: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${preset}`;
}

/** A *.keypoints.json file's settings, with a one-line error naming the file when it cannot be read. */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError({ file }, `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new InputError({ file }, `not valid JSON: ${(err as Error).message}`);
  }
}

/** What the trainer trains for a request: a new folder with the resolved config, or the folder to resume. */
export async function trainTargetOf(req: TrainRequest): Promise<TrainTarget> {
  if (isResume(req)) return { runDir: req.resume, resume: true };
  const file = req.configFile ? await readConfigFile(req.configFile) : {};
  const config = resolveConfig(deepMerge(file, req.settings ?? {}), req.configFile ?? req.source ?? 'settings');
  return { config, runDir: req.runDir ?? path.join(req.runsFolder ?? 'runs', runFolderName(config.preset)) };
}
