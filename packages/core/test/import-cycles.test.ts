import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(n) && !/\.d\.ts$/.test(n) ? [p] : [];
  });
}

/** The modules a file imports at run time: static imports and re-exports, type-only ones left out. */
export function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s+'(\.[^']+)'/gms)) {
    if (m[2]) continue; // import type / export type
    const names = m[3]!.trim();
    // `import { type A, type B } from` is type-only too.
    if (/^\{[^}]*\}$/.test(names) && names.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))) continue;
    out.push(path.resolve(path.dirname(file), m[4]!.replace(/\.js$/, '.ts')));
  }
  for (const m of text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)) out.push(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

/** Strongly connected components with more than one module (or a self-import): the import cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>(), found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index), low.set(v, index++), stack.push(v), on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do (w = stack.pop()!), on.delete(w), scc.push(w);
      while (w !== v);
      if (scc.length > 1 || graph.get(v)?.includes(v)) found.push(scc.map((f) => path.relative(SRC, f)).sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

test('the import walker sees run-time imports and skips type-only ones', () => {
  const run = runtimeImports(path.join(SRC, 'train/run.ts')).map((f) => path.relative(SRC, f));
  assert.ok(run.includes('config/resolve.ts'), run.join(', '));
  assert.ok(!run.includes('train/trainer.ts'), 'import type { TrainTarget } is type-only');
  assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['a']], ['c', ['a']]])).map((c) => c.length), [2]);
});

test('packages/core/src has no import cycles except type-only ones', () => {
  const graph = new Map(files(SRC).map((f) => [f, runtimeImports(f)]));
  assert.deepEqual(cycles(graph), []);
});
