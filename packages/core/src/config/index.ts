export * from './schema.js';
export * from './resolve.js';
export { PRESETS, PRESET_SUMMARIES } from './presets.js';
export { OPTIMIZER_DEFAULTS, applyOptimizerDefaults } from './optimizers.js';
