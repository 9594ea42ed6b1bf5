/** `--model` left out: the newest run folder with a model under ./runs, as the VS Code extension picks it. */
import path from 'node:path';
import { listRuns, UserError } from '@keypoints/core';
import { note } from './style.js';

export const RUNS_FOLDER = 'runs';

/** The model to use: the flag as given, else the newest run under ./runs (said on stderr), else a one-line error. */
export async function modelOrNewestRun(model: string | undefined, command: string): Promise<string> {
  if (model) return model;
  const newest = (await listRuns(RUNS_FOLDER)).find((r) => r.hasModel);
  if (!newest) throw new UserError(`${command}: no --model given and no run folder with a model.json under ./${RUNS_FOLDER}; train one first (keypoints train) or pass --model RUN_DIR`);
  const rel = path.relative(process.cwd(), newest.dir) || newest.dir;
  note(`using the newest run: ${rel} (pass --model to choose another)`);
  return newest.dir;
}
