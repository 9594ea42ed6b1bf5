/** Sweep specs (*.sweep.json or --set flags) and their expansion into trial configs with stable ids. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { configJsonSchema, deepMerge, resolveConfig } from '../config/resolve.js';
import type { KeypointsConfig } from '../config/schema.js';
import { InputError, UserError } from '../errors.js';
import { createRng } from '../util/random.js';
import { checkOptionPath, optionPaths, setPath, shortNames } from './options.js';

type Json = Record<string, unknown>;

const Range = z
  .strictObject({
    min: z.number().describe('Smallest value.'),
    max: z.number().describe('Largest value.'),
    log: z.boolean().default(false).describe('Sample uniformly in log space (for learning rates, L2 coefficients).'),
    int: z.boolean().default(false).describe('Round to whole numbers.'),
  })
  .describe('random search only: a continuous range to sample from.');

export const SweepSpec = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').optional().describe('Names the default sweep folder (sweeps/<name>).'),
    description: z.string().optional(),
    config: z.string().optional().describe('A *.keypoints.json every trial starts from (a path relative to this file).'),
    base: z.record(z.string(), z.unknown()).optional().describe('Settings every trial shares, as in a *.keypoints.json; they override `config`.'),
    method: z.enum(['grid', 'random']).default('grid').describe('grid: every combination of the values; random: `trials` draws, seeded by `seed`.'),
    parameters: z
      .record(z.string(), z.union([z.array(z.unknown()), Range]))
      .describe('Training options by dotted path ("train.learningRate") and the values to try: a list, or for random search a {min, max} range.'),
    trials: z.number().int().positive().optional().describe('random: how many trials to draw.'),
    seed: z.number().int().min(0).default(0).describe('random: seeds the draws, so the same file gives the same trials.'),
  })
  .describe('A Keypoints sweep: many training runs that differ in a few options.');
export type SweepSpec = z.infer<typeof SweepSpec>;

/** One trial: its option values, the settings it trains with and the validated config. */
export interface Trial {
  index: number; // 0-based position in the sweep (shards take every n-th)
  id: string; // folder name, stable for the same spec
  params: Json; // dotted path -> value
  settings: Json; // user-level settings, written as the trial's *.keypoints.json
  config: KeypointsConfig;
}

/** JSON Schema of *.sweep.json: option names complete from the config schema, `base` is a config. */
export function sweepJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(SweepSpec, { io: 'input', unrepresentable: 'any' }) as Json;
  const props = schema.properties as Record<string, Json>;
  const config = configJsonSchema();
  delete config.$schema;
  props.base = { ...config, description: (props.base as Json).description };
  props.parameters = { ...props.parameters, propertyNames: { enum: optionPaths() } };
  return schema;
}

/** Parses and checks a sweep spec (no file access). `source` names the file or flags in errors. */
export function parseSweepSpec(json: unknown, source: string): SweepSpec {
  const parsed = SweepSpec.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new UserError(`${source}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  const spec = parsed.data;
  const names = Object.keys(spec.parameters);
  if (!names.length) throw new UserError(`${source}: "parameters" is empty: name at least one option and its values, e.g. { "train.learningRate": [0.001, 0.0005] }`);
  for (const name of names) {
    checkOptionPath(name, source);
    const v = spec.parameters[name]!;
    if (Array.isArray(v) && !v.length) throw new UserError(`${source}: parameter "${name}" has no values (an empty grid trains nothing)`);
    if (!Array.isArray(v) && spec.method === 'grid') throw new UserError(`${source}: parameter "${name}" is a {min, max} range; a grid needs a list of values (or set "method": "random")`);
    if (!Array.isArray(v) && !(v.min <= v.max)) throw new UserError(`${source}: parameter "${name}": min (${v.min}) is above max (${v.max})`);
    if (!Array.isArray(v) && v.log && v.min <= 0) throw new UserError(`${source}: parameter "${name}": a log range needs min > 0`);
  }
  if (spec.method === 'random' && spec.trials === undefined) throw new UserError(`${source}: random search needs "trials" (how many to draw)`);
  return spec;
}

/** A value as typed on a command line: a number, true/false, or a string. */
function parseScalar(s: string): unknown {
  const t = s.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

/** `--set train.learningRate=1e-3,5e-4` flags as a grid spec. */
export function sweepFromSets(sets: readonly string[]): SweepSpec {
  const parameters: Record<string, unknown[]> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UserError(`--set ${s}: expected option=value1,value2 (e.g. --set train.learningRate=1e-3,5e-4)`);
    const key = s.slice(0, eq).trim();
    const text = s.slice(eq + 1);
    let values: unknown[];
    if (text.trim().startsWith('[')) {
      // A JSON list of values, for values that are lists themselves: model.dense=[[256],[128,64]]
      try {
        values = JSON.parse(text) as unknown[];
      } catch (err) {
        throw new UserError(`--set ${s}: not a valid JSON list (${(err as Error).message})`);
      }
      if (!Array.isArray(values)) throw new UserError(`--set ${s}: expected a JSON list of values`);
    } else values = text.split(',').filter((v) => v.trim() !== '').map(parseScalar);
    parameters[key] = [...(parameters[key] ?? []), ...values];
  }
  return parseSweepSpec({ method: 'grid', parameters }, '--set');
}

/** Reads a *.sweep.json; its `config` file (relative to it) becomes the trials' starting settings. */
export async function loadSweepFile(file: string): Promise<{ spec: SweepSpec; base: Json }> {
  const read = async (f: string) => {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch {
      throw new InputError({ file: f }, 'cannot read the file');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new InputError({ file: f }, `not valid JSON: ${(err as Error).message}`);
    }
  };
  const spec = parseSweepSpec(await read(file), file);
  let base: Json = {};
  if (spec.config) {
    const cfgFile = path.resolve(path.dirname(file), spec.config);
    const cfg = await read(cfgFile);
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new InputError({ file: cfgFile }, 'expected a JSON object (a *.keypoints.json)');
    base = cfg as Json;
  }
  return { spec, base: deepMerge(base, spec.base ?? {}) };
}

/** Readable folder-name text for a value: numbers as they print, other values by a short hash. */
function valueSlug(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string' && /^[A-Za-z0-9.+-]{1,24}$/.test(v)) return v;
  return createHash('sha1').update(JSON.stringify(v)).digest('hex').slice(0, 6);
}

/** `03_learningRate=0.0005_decayRate=0.98`: the index keeps ids unique, the values make them readable. */
export function trialId(index: number, count: number, params: Json): string {
  const names = shortNames(Object.keys(params));
  const slug = Object.entries(params)
    .map(([k, v]) => `${names.get(k)}=${valueSlug(v)}`)
    .join('_');
  const num = String(index + 1).padStart(Math.max(2, String(count).length), '0');
  const id = slug ? `${num}_${slug}` : num;
  return id.length <= 96 ? id : `${id.slice(0, 80)}_${createHash('sha1').update(slug).digest('hex').slice(0, 8)}`;
}

/** Rounds a drawn number to 3 significant digits, so configs and folder names stay readable. */
const round3 = (x: number): number => Number(x.toPrecision(3));

function drawParams(spec: SweepSpec): Json[] {
  const names = Object.keys(spec.parameters);
  if (spec.method === 'grid') {
    let combos: Json[] = [{}];
    for (const n of names) combos = combos.flatMap((c) => (spec.parameters[n] as unknown[]).map((v) => ({ ...c, [n]: v })));
    return combos;
  }
  const rng = createRng(spec.seed);
  const seen = new Set<string>();
  const out: Json[] = [];
  // Duplicates are skipped; a space smaller than `trials` ends with fewer trials.
  for (let attempt = 0; out.length < spec.trials! && attempt < spec.trials! * 100; attempt++) {
    const p: Json = {};
    for (const n of names) {
      const v = spec.parameters[n]!;
      if (Array.isArray(v)) p[n] = v[rng.int(v.length)];
      else {
        const u = rng.next();
        const x = v.log ? Math.exp(Math.log(v.min) + u * (Math.log(v.max) - Math.log(v.min))) : v.min + u * (v.max - v.min);
        p[n] = v.int ? Math.round(x) : round3(x);
      }
    }
    const key = JSON.stringify(p);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/**
 * Every trial of a sweep, in a fixed order: grid in the order the parameters and values are
 * written (the last parameter varies fastest), random in draw order. `base` holds the settings all
 * trials share (a config file, the spec's `base`, fixed CLI flags); trial values win over it. Every
 * trial is validated here, so a bad value stops the sweep before anything trains.
 */
export function expandSweep(spec: SweepSpec, base: Json = {}, source = 'sweep'): Trial[] {
  const drawn = drawParams(spec);
  return drawn.map((params, index) => {
    const id = trialId(index, drawn.length, params);
    let settings: Json = base;
    for (const [k, v] of Object.entries(params)) settings = setPath(settings, k, v);
    let config: KeypointsConfig;
    try {
      config = resolveConfig(settings, `${source}: trial ${id}`);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      const fields = err.message.split('\n').filter((l) => l.trim().startsWith('field')).map((l) => l.trim());
      throw new UserError(fields.length ? `${source}: trial ${id}: ${fields.join('; ')}` : err.message.split('\n')[0]!);
    }
    return { index, id, params, settings, config };
  });
}
