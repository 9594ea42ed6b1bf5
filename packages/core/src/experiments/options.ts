/** Training options addressed by dotted path ("train.learningRate"), checked against the config schema. */
import type { z } from 'zod';
import { KeypointsConfig } from '../config/schema.js';
import { UserError } from '../errors.js';

type Json = Record<string, unknown>;
type AnySchema = z.ZodType & { _zod: { def: { type: string; innerType?: AnySchema; shape?: Record<string, AnySchema> } } };

/** The schema without its default/optional wrappers. */
function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  while ((cur._zod.def.type === 'default' || cur._zod.def.type === 'optional' || cur._zod.def.type === 'prefault') && cur._zod.def.innerType) cur = cur._zod.def.innerType;
  return cur;
}

let cached: string[] | undefined;
/**
 * Every settable option path, objects' members listed and not the objects themselves; an array
 * (model.conv, model.dense) is one option: a sweep replaces the whole list.
 */
export function optionPaths(): string[] {
  if (cached) return cached;
  const out: string[] = [];
  const walk = (s: AnySchema, prefix: string) => {
    const inner = unwrap(s);
    if (inner._zod.def.type === 'object' && inner._zod.def.shape) {
      for (const [k, v] of Object.entries(inner._zod.def.shape)) walk(v, prefix ? `${prefix}.${k}` : k);
    } else out.push(prefix);
  };
  walk(KeypointsConfig as unknown as AnySchema, '');
  cached = out;
  return out;
}

/** The closest known option to a misspelt one (edit distance, case-insensitive), if any is close. */
export function closestOption(name: string): string | undefined {
  const d = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const t = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = t;
      }
    }
    return row[b.length]!;
  };
  const lower = name.toLowerCase();
  let best: string | undefined, bestD = Infinity;
  for (const p of optionPaths()) {
    const dist = Math.min(d(lower, p.toLowerCase()), p.toLowerCase().endsWith('.' + lower) ? 0 : Infinity);
    if (dist < bestD) [best, bestD] = [p, dist];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** Throws a one-line message when `name` is not a training option. */
export function checkOptionPath(name: string, source: string): void {
  if (optionPaths().includes(name)) return;
  const parent = optionPaths().filter((p) => p.startsWith(name + '.'));
  if (parent.length) throw new UserError(`${source}: "${name}" is a section, not an option; sweep one of its options, e.g. "${parent[0]}"`);
  const hint = closestOption(name);
  throw new UserError(`${source}: unknown training option "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; see \`keypoints schema\` for the options`);
}

/** Sets `value` at a dotted path in a plain object, creating sections on the way (returns a copy). */
export function setPath(obj: Json, dotted: string, value: unknown): Json {
  const [head, ...rest] = dotted.split('.');
  const out: Json = { ...obj };
  if (!rest.length) out[head!] = value;
  else {
    const child = out[head!];
    out[head!] = setPath(typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Json) : {}, rest.join('.'), value);
  }
  return out;
}

/** Leaf values of a nested object by dotted path; arrays and null are leaves. */
export function flattenOptions(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Json)) flattenOptions(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = obj;
  return out;
}

/**
 * Short column/folder labels for option paths: the last segment where it is unique among `paths`,
 * the whole dotted path where two options share a last segment.
 */
export function shortNames(paths: readonly string[]): Map<string, string> {
  const leaf = (p: string) => p.slice(p.lastIndexOf('.') + 1);
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(leaf(p), (counts.get(leaf(p)) ?? 0) + 1);
  return new Map(paths.map((p) => [p, counts.get(leaf(p))! > 1 ? p : leaf(p)]));
}
