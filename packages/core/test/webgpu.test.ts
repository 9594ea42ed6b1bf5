
describe('GPU batch size', () => {
  it('a GPU backend trains at train.gpuBatchSize with the learning rate scaled by √ of the growth; others unchanged', async () => {
    const { gpuBatchConfig, DEFAULT_GPU_BATCH } = await import('../src/train/gpu-batch.ts');
    const seed = resolveConfig({ preset: 'seed' }, 'test');
    assert.deepEqual(gpuBatchConfig(seed, { gpu: false }).config, seed);
    const g = gpuBatchConfig(seed, { gpu: true });
    assert.equal(g.config.train.batchSize, DEFAULT_GPU_BATCH);
    assert.ok(Math.abs(g.config.train.learningRate - seed.train.learningRate * Math.sqrt(DEFAULT_GPU_BATCH / 64)) < 1e-12);
    assert.match(g.note ?? '', /batch 64 → 256/);
    // Applying it again (a resumed run reads the saved config) changes nothing.
    assert.deepEqual(gpuBatchConfig(g.config, { gpu: true }).config, g.config);
    const own = resolveConfig({ preset: 'seed', train: { gpuBatchSize: 128 } }, 'test');
    assert.equal(gpuBatchConfig(own, { gpu: true }).config.train.batchSize, 128);
    const smaller = resolveConfig({ preset: 'seed', train: { gpuBatchSize: 32 } }, 'test');
    assert.deepEqual(gpuBatchConfig(smaller, { gpu: true }).config, smaller);
  });
});
