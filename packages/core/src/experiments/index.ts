/** Many runs built on runs: sweeps, shards, and comparing run folders from anywhere. */
export { optionPaths, checkOptionPath, closestOption, flattenOptions, setPath, shortNames } from './options.js';
export { SweepSpec, sweepJsonSchema, parseSweepSpec, sweepFromSets, loadSweepFile, expandSweep, trialId, type Trial } from './sweep.js';
export { parseShard, shardFromEnv, resolveShard, selectShard, SHARD_COUNT_ENV, type Shard } from './shard.js';
export { runSweep, trialStatus, TRIAL_CONFIG, TRIAL_LOCK, SWEEP_RECORD, type TrialStatus, type TrialLauncher, type SweepEvent, type SweepOptions, type SweepResult } from './runner.js';
export { findRuns, readRun, compareRuns, formatComparison, comparisonCells, type RunRecord, type RunProgress, type CompareRow, type Comparison, type CompareFormat } from './compare.js';
export { compareHtml, compareSvg } from './compare-html.js';
