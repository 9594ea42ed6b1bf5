import { z } from 'zod';
import { UserError } from '../errors.js';
import { applyOptimizerDefaults } from './optimizers.js';
import { PRESETS } from './presets.js';
import { KeypointsConfig, PresetName } from './schema.js';
import { closest, keysAt } from './suggest.js';

type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where `over` wins; arrays are replaced whole (a conv stack is not merged layer by layer). */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

const EXAMPLE = '{ "preset": "default", "data": { "path": "training.csv", "validation": 0.1 }, "train": { "epochs": 50, "optimizer": "adam" } }';

/**
 * Turns user settings (a parsed *.keypoints.json, CLI flags, a server request) into the one
 * validated config: schema defaults, then the preset, then the user's settings.
 * `source` names where the settings came from so errors can point there.
 */
export function resolveConfig(user: unknown = {}, source = 'config'): KeypointsConfig {
  if (!isPlainObject(user)) throw new UserError(`${source}: expected a JSON object, for example ${EXAMPLE}`);
  const presetParse = PresetName.safeParse(user.preset ?? 'default');
  if (!presetParse.success) {
    throw new UserError(`${source}: field "preset": must be one of ${PresetName.options.join(', ')} (got ${JSON.stringify(user.preset)})`);
  }
  const merged = applyOptimizerDefaults(deepMerge(PRESETS[presetParse.data] as Json, user), PRESETS[presetParse.data] as Json, user);
  merged.preset = presetParse.data;
  // A budget is a promise: given a time limit and no epoch count of the user's own, the run fills the
  // budget instead of the preset's epochs (config.json then says "auto", so a resume does the same).
  const userTrain = isPlainObject(user.train) ? user.train : {};
  if (userTrain.timeLimitMinutes !== undefined && userTrain.epochs === undefined && isPlainObject(merged.train)) merged.train = { ...merged.train, epochs: 'auto' };
  const parsed = KeypointsConfig.safeParse(merged);
  if (!parsed.success) throw new UserError(formatIssues(parsed.error, source));
  if (parsed.data.train.epochs === 'auto' && parsed.data.train.timeLimitMinutes === undefined) {
    throw new UserError(`${source}: field "train.epochs": "auto" plans the epochs a time limit holds; set train.timeLimitMinutes (--time-limit) too, or give a number of epochs`);
  }
  return parsed.data;
}

export function formatIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.flatMap((i) => {
    const path = i.path.length ? i.path.join('.') : '(root)';
    if (i.code !== 'unrecognized_keys') return [`  field "${path}": ${i.message}`];
    // One line per unknown key, with the closest valid key at that place when it looks like a typo.
    const valid = keysAt(KeypointsConfig, i.path);
    return i.keys.map((k) => {
      const guess = closest(k, valid);
      const full = [...i.path, k].join('.');
      return `  field "${full}": unknown key${guess ? `; did you mean "${[...i.path, guess].join('.')}"?` : valid.length ? ` (valid here: ${valid.join(', ')})` : ''}`;
    });
  });
  return `${source}: invalid settings\n${lines.join('\n')}\nA valid example: ${EXAMPLE}`;
}

/** JSON Schema of the config file, for editors (the extension's jsonValidation) and the docs. */
export function configJsonSchema(): Record<string, unknown> {
  // `model` is required by the strict schema but supplied by presets, so the file schema makes it optional.
  const fileSchema = KeypointsConfig.extend({ model: KeypointsConfig.shape.model.optional() }).partial();
  return z.toJSONSchema(fileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
