/** "Did you mean …?" for misspelt config keys: the closest valid key at the same place in the schema. */
import type { z } from 'zod';

/** Edit distance with adjacent swaps (optimal string alignment): insert, delete, substitute, swap cost 1 each. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!, up = d[i - 1]!;
      row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word` when it is close enough to be a typo (case ignored), else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  // At most a third of the word's letters wrong (and at least one allowed): "epochz" → "epochs", "lr" → nothing.
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

type AnySchema = z.core.$ZodType;

/** The keys an object schema allows at `path` (wrappers such as optional/default looked through; array indexes step into the element). */
export function keysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let s: AnySchema | undefined = schema;
  const unwrap = (x: AnySchema): AnySchema => {
    let cur = x;
    for (let i = 0; i < 10; i++) {
      const def = cur._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema };
      const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
      if (!inner) break;
      cur = inner;
    }
    return cur;
  };
  for (const seg of [...path, undefined]) {
    if (!s) return [];
    s = unwrap(s);
    const def = s._zod.def as { type: string; shape?: Record<string, AnySchema>; element?: AnySchema };
    if (seg === undefined) return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
    s = def.type === 'object' ? def.shape?.[String(seg)] : def.type === 'array' ? def.element : undefined;
  }
  return [];
}
