/**
 * Runtime checks of request params, for the server: a client that sends the wrong shape gets
 * JSON-RPC's InvalidParams error naming the field, not an internal error from deep inside core.
 * Kept apart from index.ts so the extension's bundle (which imports the protocol) carries no zod.
 */
import { ResponseError } from 'vscode-jsonrpc';
import { z } from 'zod';
import { BackendName } from '../config/schema.js';
import * as P from './index.js';

const path = z.string().min(1);
const object = z.record(z.string(), z.unknown());

/** One schema per request, each checked against the declared params type. */
export const ParamSchemas = {
  [P.Initialize.method]: z.strictObject({ clientName: z.string().optional(), runsFolder: z.string().optional(), backend: BackendName.optional() }) satisfies z.ZodType<P.InitializeParams>,
  [P.TrainStart.method]: z.strictObject({ config: object.optional(), configFile: path.optional(), dataPath: path.optional(), runDir: path.optional(), resume: path.optional() }) satisfies z.ZodType<P.TrainStartParams>,
  [P.TrainStop.method]: z.strictObject({}),
  [P.TrainStatus.method]: z.strictObject({}),
  [P.Predict.method]: z.strictObject({
    images: z.array(path).min(1),
    model: path.optional(),
    detect: z.enum(['auto', 'on', 'off']).optional(),
    detector: z.enum(['tiny', 'ssd']).optional(),
    minScore: z.number().gt(0).lt(1).optional(),
    refine: z.boolean().optional(),
  }) satisfies z.ZodType<P.PredictParams>,
  [P.Evaluate.method]: z.strictObject({
    data: path,
    model: path.optional(),
    framing: z.enum(['truth', 'detector', 'refined']).optional(),
    detector: z.enum(['tiny', 'ssd']).optional(),
    pictures: z.boolean().optional(),
    out: path.optional(),
  }) satisfies z.ZodType<P.EvaluateParams>,
  [P.DatasetInfo.method]: z.strictObject({ path }) satisfies z.ZodType<P.DatasetInfoParams>,
  [P.DatasetSamples.method]: z.strictObject({ path, count: z.number().int().min(0).max(256), offset: z.number().int().min(0).optional() }) satisfies z.ZodType<P.DatasetSamplesParams>,
  [P.RunsList.method]: z.strictObject({ folder: path.optional() }),
  [P.SweepStart.method]: z.strictObject({
    file: path.optional(),
    sets: z.array(z.string().min(1)).optional(),
    out: path.optional(),
    preset: z.enum(['seed', 'default', 'tiny', 'pretrained']).optional(),
    parallel: z.number().int().min(1).optional(),
    shard: z.string().min(1).optional(),
    epochs: z.number().int().min(1).optional(),
    timeLimit: z.number().positive().optional(),
    data: path.optional(),
    limit: z.number().int().min(1).optional(),
  }) satisfies z.ZodType<P.SweepStartParams>,
  [P.SweepStop.method]: z.strictObject({}),
  [P.Compare.method]: z.strictObject({ dirs: z.array(path).min(1), html: z.boolean().optional() }) satisfies z.ZodType<P.CompareParams>,
} as const;

/** The params of `method` if they have the declared shape; else a ResponseError(invalidParams) naming the field. */
export function checkParams<T>(method: string, params: unknown): T {
  const schema = ParamSchemas[method];
  if (!schema) return params as T;
  const parsed = schema.safeParse(params ?? {});
  if (parsed.success) return parsed.data as T;
  const problems = parsed.error.issues.map((i) => `${i.path.length ? `params.${i.path.join('.')}` : 'params'}: ${i.message}`);
  throw new ResponseError(P.ErrorCodes.invalidParams, `${method}: ${problems.join('; ')}`);
}
