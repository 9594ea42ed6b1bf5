/** Reading files named by input (a keypoints.csv row, model.json): kept inside their folder, regular files only, size-limited. */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InputLocation } from '../data/types.js';
import { InputError } from '../errors.js';
import { clip } from './text.js';
import { formatAmount, limitNote, limits } from './limits.js';

/**
 * The path of `name` (relative to `dir`, or absolute) when it lies inside `dir` also once symlinks
 * are followed; otherwise an InputError at `at`. `/dev/zero`, `../../etc/passwd` or a link out of the
 * folder are refused by what they are, before anything is opened.
 */
export async function resolveInside(dir: string, name: string, at: InputLocation, what: string): Promise<string> {
  const shown = `${what} "${clip(name, 80)}"`;
  if (name === '' || name.includes('\0')) throw new InputError(at, `${shown} is not a file name`);
  const root = await realpath(dir).catch(() => path.resolve(dir));
  const target = path.resolve(dir, name);
  if (!within(path.resolve(dir), target) && !within(root, target)) throw new InputError(at, `${shown} points outside ${clip(dir, 80)}: only files inside the folder are read`);
  let real: string;
  try {
    real = await realpath(target);
  } catch (err) {
    throw new InputError(at, `${shown} not found in ${clip(dir, 80)} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (!within(root, real)) throw new InputError(at, `${shown} is a link to outside ${clip(dir, 80)}: only files inside the folder are read`);
  return target;
}

function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Reads a whole file after checking it is a regular file (not a device or FIFO, which never end)
 * no larger than the file limit. `at` is where an error points (the file itself, or the row naming it).
 */
export async function readRegularFile(file: string, at: InputLocation = { file }, what = 'the file'): Promise<Buffer> {
  const shown = at.file === file ? what : `${what} ${clip(file, 120)}`;
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new InputError(at, `${shown} is not a regular file (${s.isDirectory() ? 'a folder' : 'a device, FIFO or socket'})`);
    size = s.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(at, code === 'ENOENT' ? `${shown} does not exist` : `cannot read ${shown} (${code ?? 'unreadable'})`);
  }
  const max = limits().fileBytes;
  if (size > max) throw new InputError(at, `${shown} is ${formatAmount(size, 'bytes')}, over the file size limit (${limitNote('fileBytes', max)})`);
  try {
    return await readFile(file);
  } catch (err) {
    throw new InputError(at, `cannot read ${shown} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}
