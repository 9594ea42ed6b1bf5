/** The trainer and what it is made of: plan, state, step, run folders, events. */
export * from './events.js';
export * from './schedule.js';
export * from './loss.js';
export * from './optimizers.js';
export * from './run-folder.js';
export * from './plan.js';
export * from './state.js';
export * from './step.js';
export * from './trainer.js';
export * from './run.js';
export * from './gpu-batch.js';
export * from './specialists.js';
export * from './dry-run.js';
export * from './time-breakdown.js';
