export * from './artifacts.js';
export * from './define.js';
export * from './graph.js';
export * from './runner.js';
