/** Reading a run folder's JSON files: any problem is a one-line InputError naming the file (and line), never a SyntaxError's stack. */
import { InputError } from '../errors.js';
import { readRegularFile } from './paths.js';

/** The parsed JSON object in `file` (config.json, summary.json, state.json): anything else is refused. */
export async function readJsonFile<T = Record<string, unknown>>(file: string, what = 'JSON'): Promise<T> {
  const text = (await readRegularFile(file)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError({ file }, `not valid ${what} (${(err as Error).message}); the file is damaged: restore or delete it`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError({ file }, `not valid ${what}: expected an object, found ${Array.isArray(value) ? 'an array' : String(value === null ? 'null' : typeof value)}`);
  return value as T;
}

/** One JSON object per line (metrics.jsonl); a bad line names its row. */
export function parseJsonLines<T>(file: string, text: string): T[] {
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new InputError({ file, row: i + 1 }, `not a JSON line (${(err as Error).message}); the file is damaged: delete or fix that line`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InputError({ file, row: i + 1 }, 'not a JSON object');
    out.push(v as T);
  });
  return out;
}
