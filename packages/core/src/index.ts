export * from './errors.js';
export * from './data/types.js';
export * from './config/index.js';
export * from './train/events.js';
export * from './backend/types.js';
export * from './backend/index.js';
