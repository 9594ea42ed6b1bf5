// Runs the benchmark from source (no build): node --import tsx bench/run.mts [--json] [--steps N] [--networks seed,default] [--backends wasm,cpu]
// `npm run bench` (the built CLI's `keypoints bench`) is the user-facing way; this is for working on the kernels.
import { parseArgs } from 'node:util';
import { formatBenchTable, runBenchmark, type BenchBackend, type BenchNetwork } from '../packages/core/src/bench/index.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    steps: { type: 'string' },
    networks: { type: 'string' },
    backends: { type: 'string' },
    'no-pytorch': { type: 'boolean', default: false },
  },
});
const report = await runBenchmark({
  trainSteps: values.steps ? Number(values.steps) : undefined,
  networks: values.networks?.split(',') as BenchNetwork[] | undefined,
  backends: values.backends?.split(',') as BenchBackend[] | undefined,
  pytorch: !values['no-pytorch'],
  onLog: (m) => process.stderr.write(m + '\n'),
});
if (values.json) for (const r of report.records) console.log(JSON.stringify(r));
else console.log(formatBenchTable(report));
