import http from 'node:http';
import https from 'node:https';
import type { Color } from '../options.js';

/** The report of one check of an upstream (see control/check.ts). */
export interface CheckStep {
  name: 'live' | 'ready' | 'model-ready' | 'metadata' | 'infer' | 'shape';
  ok: boolean;
  ms: number;
  detail?: string;
}

export interface CheckReport {
  color: Color;
  url: string;
  model: string;
  ok: boolean;
  /** The first failing step's reason. */
  reason?: string;
  /** When the check finished (ms since epoch). */
  at: number;
  totalMs: number;
  steps: CheckStep[];
  /** The version the smoke answers named (`model_version`). */
  modelVersion?: string;
  /** Smoke inference latency over `samples` requests. */
  latencyMs?: { samples: number; p50: number; max: number };
  /** The output signature the smoke answers had. */
  outputs?: { name: string; datatype: string; shape: number[] }[];
  /** Who asked for the check (the API key's name). */
  by?: string;
}

/** One registered upstream: its URL, its keep-alive agent, and its last check. */
export class Upstream {
  readonly color: Color;
  readonly url: URL;
  readonly agent: http.Agent;
  readonly stagedAt: number;
  lastCheck: CheckReport | undefined;
  /** Requests forwarded to this upstream that have not finished. */
  inflight = 0;

  constructor(color: Color, url: string, maxSockets: number) {
    this.color = color;
    this.url = new URL(url);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 64) });
    this.stagedAt = Date.now();
  }

  get href(): string {
    return this.url.origin;
  }

  /** Close the upstream's idle connections now and the rest once their requests finish. */
  retire(): void {
    const agent = this.agent;
    if (this.inflight === 0) {
      agent.destroy();
      return;
    }
    const timer = setInterval(() => {
      if (this.inflight === 0) {
        clearInterval(timer);
        agent.destroy();
      }
    }, 100);
    timer.unref();
  }
}
