/** Which trials one job of a job array runs: `--shard i/n`, or `auto` from the engine's variables. */
import { UserError } from '../errors.js';

/** Shard `index` of `total`, both 1-based as Playwright's `--shard 2/3`; `source` says where they came from. */
export interface Shard {
  index: number;
  total: number;
  source: string;
}

type Env = Record<string, string | undefined>;

/** Variables that hold the shard count where the engine has none of its own (Kubernetes, AWS Batch). */
export const SHARD_COUNT_ENV = 'KEYPOINTS_SHARD_COUNT';

function int(v: string | undefined, what: string): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isInteger(n)) throw new UserError(`--shard auto: ${what} is "${v}", not a whole number`);
  return n;
}

function checked(index: number, total: number, source: string): Shard {
  if (!(total >= 1)) throw new UserError(`--shard ${source}: the shard count must be at least 1 (got ${total})`);
  if (!(index >= 1 && index <= total)) throw new UserError(`--shard ${source}: shard ${index} of ${total} does not exist (shards are numbered 1 to ${total})`);
  return { index, total, source };
}

/** `i/n` with 1 ≤ i ≤ n. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UserError(`--shard ${text}: expected i/n (e.g. 2/3: the second of three shards) or auto`);
  return checked(Number(m[1]), Number(m[2]), text);
}

/**
 * The shard from the job array that started this process, by the first engine whose variables
 * are set: KEYPOINTS_SHARD (i/n), GitLab `parallel:` (CI_NODE_INDEX/CI_NODE_TOTAL, 1-based),
 * Slurm arrays (SLURM_ARRAY_TASK_ID from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP,
 * SLURM_ARRAY_TASK_COUNT), Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX, 0-based) and AWS Batch
 * array jobs (AWS_BATCH_JOB_ARRAY_INDEX, 0-based); the last two publish no count, so it comes from
 * `count` (--shard-count) or KEYPOINTS_SHARD_COUNT. GitHub Actions has no such variables: pass the
 * matrix values as --shard i/n.
 */
export function shardFromEnv(env: Env, count?: number): Shard {
  if (env.KEYPOINTS_SHARD) return { ...parseShard(env.KEYPOINTS_SHARD), source: `KEYPOINTS_SHARD=${env.KEYPOINTS_SHARD}` };
  if (env.CI_NODE_INDEX !== undefined && env.CI_NODE_TOTAL !== undefined) {
    return checked(int(env.CI_NODE_INDEX, 'CI_NODE_INDEX'), int(env.CI_NODE_TOTAL, 'CI_NODE_TOTAL'), `auto (GitLab CI_NODE_INDEX=${env.CI_NODE_INDEX}, CI_NODE_TOTAL=${env.CI_NODE_TOTAL})`);
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = int(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID');
    const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? int(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN') : 0;
    const step = env.SLURM_ARRAY_TASK_STEP !== undefined ? int(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP') : 1;
    const total = env.SLURM_ARRAY_TASK_COUNT !== undefined ? int(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT') : countFrom(env, count, 'Slurm');
    if ((id - min) % step !== 0) throw new UserError(`--shard auto: SLURM_ARRAY_TASK_ID=${id} is not on the array's steps (min ${min}, step ${step})`);
    return checked((id - min) / step + 1, total, `auto (Slurm SLURM_ARRAY_TASK_ID=${id}, SLURM_ARRAY_TASK_MIN=${min}, SLURM_ARRAY_TASK_COUNT=${total})`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const i = int(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX');
    const total = countFrom(env, count, 'a Kubernetes Indexed Job');
    return checked(i + 1, total, `auto (Kubernetes JOB_COMPLETION_INDEX=${i}, ${total} completions)`);
  }
  if (env.AWS_BATCH_JOB_ARRAY_INDEX !== undefined) {
    const i = int(env.AWS_BATCH_JOB_ARRAY_INDEX, 'AWS_BATCH_JOB_ARRAY_INDEX');
    const total = countFrom(env, count, 'an AWS Batch array job');
    return checked(i + 1, total, `auto (AWS Batch AWS_BATCH_JOB_ARRAY_INDEX=${i}, array size ${total})`);
  }
  const gha = env.GITHUB_ACTIONS === 'true' ? ' GitHub Actions sets none: pass the matrix values, --shard ${{ matrix.shard }}/N.' : '';
  throw new UserError(
    `--shard auto: no job-array variables found (KEYPOINTS_SHARD, GitLab CI_NODE_INDEX/CI_NODE_TOTAL, Slurm SLURM_ARRAY_TASK_ID, Kubernetes JOB_COMPLETION_INDEX, AWS Batch AWS_BATCH_JOB_ARRAY_INDEX); pass --shard i/n.${gha}`,
  );
}

function countFrom(env: Env, count: number | undefined, engine: string): number {
  if (count !== undefined) return count;
  if (env[SHARD_COUNT_ENV] !== undefined) return int(env[SHARD_COUNT_ENV], SHARD_COUNT_ENV);
  throw new UserError(`--shard auto: ${engine} does not publish the number of shards; pass --shard-count N or set ${SHARD_COUNT_ENV}`);
}

/** `--shard` as given: `i/n`, `auto` (from `env`), or undefined for the whole sweep. */
export function resolveShard(text: string | undefined, env: Env = process.env, count?: number): Shard | undefined {
  if (text === undefined) return undefined;
  return text.trim() === 'auto' ? shardFromEnv(env, count) : parseShard(text);
}

/** The items of shard i/n: every n-th, starting with the (i-1)-th, so shards differ in size by at most one. */
export function selectShard<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...items];
  return items.filter((_, k) => k % shard.total === shard.index - 1);
}
