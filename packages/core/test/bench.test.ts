import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatBenchTable, median, type BenchRecord } from '../src/bench/index.ts';

describe('bench rounds', () => {
  it('median of odd and even counts, order-free', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
  });

  it('the table shows the ratio\'s range and says the figures are medians when rounds > 1', () => {
    const record: BenchRecord = {
      network: 'seed', backend: 'wasm', engine: 'wasm (test)', batch: 64, steps: 5, warmupSteps: 3, mflopsPerImage: 289,
      trainImagesPerSec: 50, inferImagesPerSec: 150, predictMs: 11, peakRssMB: 1000,
      stepMs: 1280, batchMsPerStep: 12.3, threadIdleMsPerStep: [5.04, 310.26], poolCallsPerStep: 140,
      pytorch: { version: '1.13', threads: 2, trainImagesPerSec: 45, inferImagesPerSec: 160, predictMs: 17 },
      trainRatioToPytorch: 1.11, inferRatioToPytorch: 0.94, predictSpeedupVsPytorch: 1.5,
      rounds: 3, trainRatioRange: [0.87, 1.31],
      machine: { cpus: 2, cpuModel: 'Test CPU', loadAverage: [0.5, 0.5, 0.5], node: 'v20' },
    };
    const table = formatBenchTable([record]);
    assert.match(table, /\| 1\.11× \(0\.87–1\.31\) \|/);
    assert.match(table, /Medians of 3 rounds/);
    assert.match(table, /\| 1280\.0 \(12\.3 · 5\.0 \/ 310\.3\) \|/, 'the step, its batch building, idle main / worker');
    assert.match(formatBenchTable([{ ...record, threadIdleMsPerStep: null }]), /\| 1280\.0 \(12\.3 · –\) \|/);
    const single = formatBenchTable([{ ...record, rounds: 1, trainRatioRange: null }]);
    assert.match(single, /\| 1\.11× \|/);
    assert.doesNotMatch(single, /Medians/);
  });
});
