// Runs the benchmark from source without a build: node --import tsx bench/run.mts [--json] [--steps N] [--networks seed,default] [--backends wasm,cpu] [--threads N] [--no-pytorch]
// `npm run bench` (the built CLI's `keypoints bench`) is the user-facing way; this one is for working on kernels.
import { parseArgs } from 'node:util';
import type { PresetName } from '../packages/core/src/config/schema.ts';
import { runBenchmark } from '../packages/core/src/bench/index.ts';

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
  json: values.json,
  steps: values.steps ? Number(values.steps) : undefined,
  threads: values.threads ? Number(values.threads) : undefined,
  networks: values.networks?.split(',') as PresetName[] | undefined,
  backends: values.backends?.split(','),
  noPytorch: values['no-pytorch'],
});
