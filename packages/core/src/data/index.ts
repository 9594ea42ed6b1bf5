export * from './types.js';
export * from './schema.js';
export * from './image.js';
export { readFaceSet, readKaggleTest, readIdLookup, readLabels, type LabelTable, type ReadOptions } from './read.js';
export * from './split.js';
export * from './batch.js';
export * from './synthetic.js';
