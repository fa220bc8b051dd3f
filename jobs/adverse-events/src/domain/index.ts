export * from './clinical-event.js';
export * from './event-schema.js';
export * from './topics.js';
