// Runs the benchmark from source (no build): node --import tsx bench/run.mts [--json] [--steps N] [--networks seed,default] [--backends wasm,cpu] [--threads N] [--no-pytorch]
// `npm run bench` (the built CLI's `keypoints bench`) is the user-facing way; this is for working on the kernels.
// XNNPACK threads: KEYPOINTS_WASM_THREADS (default: available cores).
import { parseArgs } from 'node:util';
import { runBenchmark } from '../packages/core/src/bench/index.ts';
import type { PresetName } from '../packages/core/src/config/schema.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    steps: { type: 'string' },
    networks: { type: 'string' },
    backends: { type: 'string' },
    threads: { type: 'string' },
    'no-pytorch': { type: 'boolean', default: false },
  },
});
await runBenchmark({
  steps: values.steps ? Number(values.steps) : undefined,
  networks: values.networks?.split(',') as PresetName[] | undefined,
  backends: values.backends?.split(','),
  threads: values.threads ? Number(values.threads) : undefined,
  noPytorch: values['no-pytorch'],
  json: values.json,
});
