export { evaluateScores, type LabelledScore } from './evaluation.js';
export { LocalMonitor, type LocalMonitorOptions } from './local-monitor.js';
export { localMonitor } from './local-monitor-adapter.js';
export { MonitorMetrics } from './monitor-metrics.js';
