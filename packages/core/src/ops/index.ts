export * from './create.js';
export * from './elementwise.js';
export * from './shape.js';
export * from './reduce.js';
export * from './linalg.js';
export * from './conv.js';
export * from './norm.js';
export * from './attention.js';
