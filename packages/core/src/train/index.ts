export * from './events.js';
export * from './schedule.js';
export * from './loss.js';
export * from './optimizers.js';
export * from './run-folder.js';
export * from './trainer.js';
