import http from 'node:http';
import { ApiKeys, missingKeyReason, presentedKey, type Role, roleAllows } from '@vigil/core';
import { z } from 'zod';
import { runCheck } from './control/check.js';
import { readGatewayState, writeGatewayState } from './control/state-file.js';
import { answerError, callUpstream } from './control/upstream-call.js';
import { GatewayError } from './errors.js';
import {
  COLORS,
  type Color,
  type GatewayOptions,
  type GatewayOptionsInput,
  inferRequestSchema,
  issuePath,
  outputSignatureSchema,
  parseGatewayOptions,
  upstreamUrlSchema,
} from './options.js';
import { forward, readBody, sendJson } from './proxy/forward.js';
import { type CheckReport, Upstream } from './proxy/upstream.js';

/** Paths under this prefix are the gateway's own; every other path is forwarded. */
export const CONTROL_PREFIX = '/gateway/';

export interface SwitchResult {
  active: Color;
  previous: Color | undefined;
  /** False when the color was already active. */
  changed: boolean;
  /** Set when the state file could not be saved (the switch itself happened). */
  persistError?: string;
  at: number;
  by: string | undefined;
}

export interface GatewayEvent {
  action: 'stage' | 'check' | 'switch' | 'rollback';
  at: number;
  by: string | undefined;
  color: Color;
  url?: string;
  from?: Color | undefined;
  ok?: boolean;
  reason?: string;
}

const colorSchema = z.enum(COLORS).describe('blue or green');
const stageBody = z.strictObject({
  color: colorSchema,
  url: upstreamUrlSchema,
});
const checkBody = z.strictObject({
  color: colorSchema,
  model: z.string().min(1).optional(),
  request: inferRequestSchema.optional(),
  expect: outputSignatureSchema.optional(),
});
const switchBody = z.strictObject({ color: colorSchema });
const emptyBody = z.strictObject({});
type StageBody = z.infer<typeof stageBody>;
type CheckBody = z.infer<typeof checkBody>;

/**
 * The one validation of a control request: each problem as `field: reason` (400). A request
 * over HTTP is validated here once (parseBody); the public methods validate their arguments
 * here and the HTTP routes call the same implementation with the body already validated.
 */
function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`);
    throw new GatewayError('VIGIL_GATEWAY_INVALID_REQUEST', issues.join('; '), { details: { issues } });
  }
  return parsed.data;
}

/** A control request body: JSON (an empty body is `{}`), then validate. */
function parseBody<T>(schema: z.ZodType<T>, raw: Buffer): T {
  let json: unknown = {};
  if (raw.length > 0) {
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      throw new GatewayError(
        'VIGIL_GATEWAY_INVALID_REQUEST',
        `body: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
  return validate(schema, json);
}

/**
 * The blue-green gateway: owns the public port and forwards every request (except
 * `/gateway/…`) to the active color's upstream, preserving method, path, headers and body.
 * The control API stages an upstream for a color, checks it, switches traffic to it
 * atomically (requests that started before the switch finish on the old color) and rolls
 * back to the previous color.
 */
export class Gateway {
  readonly options: GatewayOptions;
  readonly #keys: ApiKeys;
  readonly #upstreams = new Map<Color, Upstream>();
  #active: Color | undefined;
  #previous: Color | undefined;
  #switchedAt: number | undefined;
  readonly #events: GatewayEvent[] = [];
  #server: http.Server | undefined;
  #inflight = 0;
  #closing: Promise<void> | undefined;
  /** The last state-file save; saves run one at a time, in order, so the file ends with the latest state. */
  #saving: Promise<unknown> = Promise.resolve();
  readonly #log: (event: Record<string, unknown>) => void;

  constructor(input: GatewayOptionsInput, log?: (event: Record<string, unknown>) => void) {
    const parsed = parseGatewayOptions(input);
    this.#keys = new ApiKeys(parsed.keys);
    // Only digests are kept; the options the gateway exposes name the keys without their secrets.
    this.options = {
      ...parsed,
      keys: parsed.keys.map((k) => ({ name: k.name, role: k.role, key: '<redacted>' })),
    };
    this.#log = log ?? (() => undefined);
    const saved = this.options.stateFile ? readGatewayState(this.options.stateFile) : undefined;
    for (const color of COLORS) {
      const url = saved ? saved.upstreams[color] : this.options[color];
      if (url !== undefined) this.#upstreams.set(color, new Upstream(color, url, this.options.maxSockets));
    }
    if (saved) {
      this.#active = saved.active ?? undefined;
      this.#previous = saved.previous ?? undefined;
      this.#switchedAt = saved.switchedAt ? Date.parse(saved.switchedAt) : undefined;
      this.#log({
        action: 'restore',
        stateFile: this.options.stateFile,
        active: saved.active,
        previous: saved.previous,
      });
      return;
    }
    const active =
      this.options.active ??
      (this.#upstreams.has('blue') ? 'blue' : this.#upstreams.has('green') ? 'green' : undefined);
    if (active !== undefined && !this.#upstreams.has(active)) {
      throw new GatewayError(
        'VIGIL_GATEWAY_INVALID_REQUEST',
        `active: color ${active} has no upstream (set ${active})`,
      );
    }
    this.#active = active;
    if (active !== undefined) this.#switchedAt = Date.now();
    // Not awaited (a constructor cannot): a failed save is logged, and close() waits for the save.
    void this.#persist();
  }

  /**
   * Save the routing state as it is now, when a state file is configured; resolves with the
   * reason when the save failed (logged, never thrown into the switch), else undefined.
   */
  #persist(): Promise<string | undefined> {
    const file = this.options.stateFile;
    if (!file) return Promise.resolve(undefined);
    const state = {
      version: 1 as const,
      active: this.#active ?? null,
      previous: this.#previous ?? null,
      switchedAt: this.#switchedAt !== undefined ? new Date(this.#switchedAt).toISOString() : null,
      upstreams: Object.fromEntries([...this.#upstreams].map(([c, u]) => [c, u.href])),
    };
    const saved = this.#saving
      .then(() => writeGatewayState(file, state))
      .then(
        () => undefined,
        (error: unknown) => {
          const reason = `could not save ${file}: ${error instanceof Error ? error.message : String(error)}`;
          this.#log({ action: 'persist', ok: false, reason });
          return reason;
        },
      );
    this.#saving = saved;
    return saved;
  }

  get active(): Color | undefined {
    return this.#active;
  }

  get previous(): Color | undefined {
    return this.#previous;
  }

  /** The upstream URL of a color, if it has one. */
  upstreamUrl(color: Color): string | undefined {
    return this.#upstreams.get(color)?.href;
  }

  /** Control actions in order (stage, check, switch, rollback), the last 200. */
  get events(): readonly GatewayEvent[] {
    return this.#events;
  }

  #record(event: GatewayEvent): void {
    this.#events.push(event);
    if (this.#events.length > 200) this.#events.shift();
    this.#log({ ...event, at: new Date(event.at).toISOString() });
  }

  /** Register (or replace) the upstream of a color that is not taking traffic. */
  async stage(
    color: Color,
    url: string,
    by?: string,
  ): Promise<{ color: Color; url: string; persistError?: string }> {
    return this.#stage(validate(stageBody, { color, url }), by);
  }

  async #stage(
    { color, url }: StageBody,
    by: string | undefined,
  ): Promise<{ color: Color; url: string; persistError?: string }> {
    if (this.#active === color) {
      throw new GatewayError(
        'VIGIL_GATEWAY_ACTIVE_COLOR',
        `color ${color} is active (taking traffic); stage the other color, switch to it, then re-stage ${color}`,
      );
    }
    const old = this.#upstreams.get(color);
    const upstream = new Upstream(color, url, this.options.maxSockets);
    this.#upstreams.set(color, upstream);
    old?.retire();
    // Rolling back to a color whose upstream changed since it served would skip its check.
    if (this.#previous === color) this.#previous = undefined;
    this.#record({ action: 'stage', at: Date.now(), by, color, url: upstream.href });
    const persistError = await this.#persist();
    return { color, url: upstream.href, ...(persistError ? { persistError } : {}) };
  }

  /** Check a staged color (see runCheck); the report gates a later switch. */
  async check(
    color: Color,
    input: { model?: string; request?: unknown; expect?: unknown } = {},
    by?: string,
  ): Promise<CheckReport> {
    return this.#check(validate(checkBody, { color, ...input }), by);
  }

  async #check(body: CheckBody, by: string | undefined): Promise<CheckReport> {
    const { color } = body;
    const upstream = this.#upstreams.get(color);
    if (!upstream) {
      throw new GatewayError(
        'VIGIL_GATEWAY_NOT_STAGED',
        `color ${color} has no upstream: POST /gateway/stage {"color":"${color}","url":…} first`,
      );
    }
    const model = body.model ?? this.options.model;
    if (model === undefined) {
      throw new GatewayError(
        'VIGIL_GATEWAY_INVALID_REQUEST',
        'model: no model to check; send model in the body or start the gateway with a model',
      );
    }
    const reference =
      this.#active !== undefined && this.#active !== color ? this.#upstreams.get(this.#active) : undefined;
    const report = await runCheck(upstream, {
      model,
      request: body.request ?? this.options.check.request,
      expect: body.expect,
      reference,
      samples: this.options.check.samples,
      timeoutMs: this.options.check.timeoutMs,
      key: this.options.upstreamKey,
    });
    if (by !== undefined) report.by = by;
    // A check of an upstream that was replaced while it ran says nothing about the new one.
    if (this.#upstreams.get(color) === upstream) upstream.lastCheck = report;
    this.#record({
      action: 'check',
      at: report.at,
      by,
      color,
      url: upstream.href,
      ok: report.ok,
      ...(report.reason ? { reason: report.reason } : {}),
    });
    return report;
  }

  /** Why a switch to `color` is refused now, or undefined when it is allowed. */
  #refusal(color: Color): GatewayError | undefined {
    const upstream = this.#upstreams.get(color);
    if (!upstream) {
      return new GatewayError(
        'VIGIL_GATEWAY_NOT_STAGED',
        `color ${color} has no upstream: stage it, check it, then switch`,
      );
    }
    const check = upstream.lastCheck;
    if (!check) {
      return new GatewayError(
        'VIGIL_GATEWAY_NOT_CHECKED',
        `color ${color} (${upstream.href}) has not been checked since it was staged: POST /gateway/check {"color":"${color}"} first`,
      );
    }
    if (!check.ok) {
      return new GatewayError(
        'VIGIL_GATEWAY_CHECK_FAILED',
        `the last check of ${color} (${upstream.href}) failed: ${check.reason ?? 'unknown reason'}`,
        { details: { check } },
      );
    }
    const age = Date.now() - check.at;
    if (age > this.options.check.maxAgeMs) {
      return new GatewayError(
        'VIGIL_GATEWAY_CHECK_STALE',
        `the last check of ${color} is ${Math.round(age / 1000)} s old; a switch needs one at most ${Math.round(this.options.check.maxAgeMs / 1000)} s old (check.maxAgeMs): check it again`,
        { details: { ageMs: age, maxAgeMs: this.options.check.maxAgeMs } },
      );
    }
    return undefined;
  }

  /**
   * Send new requests to `color` from now on. One assignment in the event loop: every request
   * that arrives after it goes to the new color, every request already forwarded finishes on
   * the old one (its upstream and connections stay open). Refused unless the color's last
   * check passed and is at most `check.maxAgeMs` old.
   */
  async switch(color: Color, by?: string): Promise<SwitchResult> {
    return this.#switch(validate(switchBody, { color }).color, by);
  }

  async #switch(color: Color, by: string | undefined): Promise<SwitchResult> {
    if (this.#active === color) {
      return {
        active: color,
        previous: this.#previous,
        changed: false,
        at: this.#switchedAt ?? Date.now(),
        by,
      };
    }
    const refusal = this.#refusal(color);
    if (refusal) {
      this.#record({
        action: 'switch',
        at: Date.now(),
        by,
        color,
        from: this.#active,
        ok: false,
        reason: refusal.message,
      });
      throw refusal;
    }
    return this.#flip(color, 'switch', by);
  }

  /**
   * Back to the color that served before the last switch, at once: no check needed (it was
   * serving until the switch; re-staging it clears it as a rollback target).
   */
  async rollback(by?: string): Promise<SwitchResult> {
    const target = this.#previous;
    if (target === undefined || !this.#upstreams.has(target)) {
      throw new GatewayError(
        'VIGIL_GATEWAY_NO_PREVIOUS',
        'nothing to roll back to: no switch happened yet, or the previous color was re-staged since it served',
      );
    }
    return this.#flip(target, 'rollback', by);
  }

  /** The assignment runs before the first await: requests arriving after it go to `color`. */
  async #flip(color: Color, action: 'switch' | 'rollback', by: string | undefined): Promise<SwitchResult> {
    const from = this.#active;
    this.#active = color;
    this.#previous = from;
    this.#switchedAt = Date.now();
    this.#record({
      action,
      at: this.#switchedAt,
      by,
      color,
      url: this.#upstreams.get(color)!.href,
      from,
      ok: true,
    });
    const persistError = await this.#persist();
    return {
      active: color,
      previous: from,
      changed: true,
      at: this.#switchedAt,
      by,
      ...(persistError ? { persistError } : {}),
    };
  }

  /** Active color, each upstream's URL, live health, model metadata and last check. */
  async status(): Promise<Record<string, unknown>> {
    const timeoutMs = Math.min(this.options.check.timeoutMs, 2_000);
    const call = { timeoutMs, key: this.options.upstreamKey };
    const model = this.options.model;
    const describeUpstream = async (upstream: Upstream) => {
      const probe = async (path: string) => {
        try {
          const r = await callUpstream(upstream, 'GET', path, call);
          return r.status === 200
            ? { ok: true, ms: Math.round(r.ms * 100) / 100 }
            : { ok: false, error: `${r.status}: ${answerError(r)}` };
        } catch (error) {
          return { ok: false, error: error instanceof Error ? error.message : String(error) };
        }
      };
      const [live, ready, metadata] = await Promise.all([
        probe('/v2/health/live'),
        probe('/v2/health/ready'),
        model === undefined
          ? Promise.resolve(undefined)
          : callUpstream(upstream, 'GET', `/v2/models/${encodeURIComponent(model)}`, call).then(
              (r) => (r.status === 200 ? r.json : { error: `${r.status}: ${answerError(r)}` }),
              (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
            ),
      ]);
      const check = upstream.lastCheck;
      const ageMs = check ? Date.now() - check.at : undefined;
      return {
        url: upstream.href,
        active: this.#active === upstream.color,
        stagedAt: new Date(upstream.stagedAt).toISOString(),
        inflight: upstream.inflight,
        health: { live, ready },
        ...(metadata !== undefined ? { model: metadata } : {}),
        lastCheck: check
          ? {
              ok: check.ok,
              at: new Date(check.at).toISOString(),
              ageMs,
              fresh: check.ok && ageMs! <= this.options.check.maxAgeMs,
              ...(check.reason ? { reason: check.reason } : {}),
              ...(check.modelVersion ? { modelVersion: check.modelVersion } : {}),
              ...(check.latencyMs ? { latencyMs: check.latencyMs } : {}),
            }
          : null,
        switchable: this.#active === upstream.color || this.#refusal(upstream.color) === undefined,
      };
    };
    const upstreams: Record<string, unknown> = {};
    await Promise.all(
      [...this.#upstreams.values()].map(async (u) => {
        upstreams[u.color] = await describeUpstream(u);
      }),
    );
    return {
      active: this.#active ?? null,
      previous: this.#previous ?? null,
      switchedAt: this.#switchedAt !== undefined ? new Date(this.#switchedAt).toISOString() : null,
      inflight: this.#inflight,
      maxCheckAgeMs: this.options.check.maxAgeMs,
      upstreams,
      events: this.#events.slice(-20).map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    };
  }

  async #control(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0]!;
    const routes: Record<string, { method: 'GET' | 'POST'; role: Role }> = {
      '/gateway/status': { method: 'GET', role: 'predict' },
      '/gateway/stage': { method: 'POST', role: 'operate' },
      '/gateway/check': { method: 'POST', role: 'operate' },
      '/gateway/switch': { method: 'POST', role: 'operate' },
      '/gateway/rollback': { method: 'POST', role: 'operate' },
    };
    const route = routes[path];
    if (!route)
      throw new GatewayError('VIGIL_GATEWAY_NOT_FOUND', `no control endpoint ${request.method} ${path}`);
    if (request.method !== route.method) {
      response.setHeader('allow', route.method);
      throw new GatewayError(
        'VIGIL_GATEWAY_METHOD_NOT_ALLOWED',
        `${path} takes ${route.method}, not ${request.method}`,
      );
    }
    const by = this.#authorise(request, response, path, route.role);
    const raw = await readBody(request, 1024 * 1024);
    switch (path) {
      case '/gateway/status':
        return sendJson(response, 200, await this.status());
      case '/gateway/stage':
        return sendJson(response, 200, await this.#stage(parseBody(stageBody, raw), by));
      case '/gateway/check': {
        const report = await this.#check(parseBody(checkBody, raw), by);
        return sendJson(response, 200, { ...report, at: new Date(report.at).toISOString() });
      }
      case '/gateway/switch': {
        const started = performance.now();
        const result = await this.#switch(parseBody(switchBody, raw).color, by);
        return sendJson(response, 200, {
          ...result,
          at: new Date(result.at).toISOString(),
          ms: performance.now() - started,
        });
      }
      default: {
        parseBody(emptyBody, raw);
        const started = performance.now();
        const result = await this.rollback(by);
        return sendJson(response, 200, {
          ...result,
          at: new Date(result.at).toISOString(),
          ms: performance.now() - started,
        });
      }
    }
  }

  /** The key's name when it may call the endpoint; throws 401/403 otherwise. */
  #authorise(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    path: string,
    needed: Role,
  ): string {
    const refuse = (code: 'VIGIL_GATEWAY_UNAUTHORIZED' | 'VIGIL_GATEWAY_FORBIDDEN', message: string) => {
      if (code === 'VIGIL_GATEWAY_UNAUTHORIZED') response.setHeader('www-authenticate', 'Bearer');
      return new GatewayError(code, message);
    };
    if (!this.#keys.enabled) {
      throw refuse(
        'VIGIL_GATEWAY_UNAUTHORIZED',
        `${request.method} ${path} needs an API key with role ${needed}; this gateway has no API keys configured (keys)`,
      );
    }
    const presented = presentedKey(request.headers);
    const found = presented.key !== undefined ? this.#keys.find(presented.key) : undefined;
    if (!found) {
      throw refuse('VIGIL_GATEWAY_UNAUTHORIZED', missingKeyReason(presented));
    }
    if (!roleAllows(found.role, needed)) {
      throw refuse(
        'VIGIL_GATEWAY_FORBIDDEN',
        `API key '${found.name}' has role ${found.role}; ${request.method} ${path} needs ${needed}`,
      );
    }
    return found.name;
  }

  async #data(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // The color is read once, when the request arrives: that is what makes a switch atomic.
    const color = this.#active;
    const upstream = color === undefined ? undefined : this.#upstreams.get(color);
    if (!upstream) {
      throw new GatewayError(
        'VIGIL_GATEWAY_NO_UPSTREAM',
        'no color is active: stage an upstream, check it and switch to it',
      );
    }
    upstream.inflight++;
    try {
      const body = await readBody(request, this.options.maxBodyBytes);
      await forward(request, response, body, upstream, { timeoutMs: this.options.upstreamTimeoutMs });
    } finally {
      upstream.inflight--;
    }
  }

  #handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    this.#inflight++;
    const control = (request.url ?? '/').startsWith(CONTROL_PREFIX);
    (control ? this.#control(request, response) : this.#data(request, response))
      .catch((error: unknown) => {
        if (error instanceof GatewayError) {
          sendJson(response, error.status, {
            error: error.message,
            code: error.code,
            ...(error.details ?? {}),
          });
        } else {
          this.#log({ action: 'error', error: error instanceof Error ? error.message : String(error) });
          sendJson(response, 500, { error: 'the gateway failed to handle the request' });
        }
      })
      .finally(() => {
        this.#inflight--;
      });
  };

  /** Start listening on 127.0.0.1; resolves with the public URL. */
  async listen(): Promise<{ url: string }> {
    if (this.#server) throw new Error('the gateway is already listening');
    const server = http.createServer({ keepAliveTimeout: 65_000 }, this.#handle);
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as { port: number };
    return { url: `http://${this.options.host}:${address.port}` };
  }

  /** Stop taking connections, let in-flight requests finish (up to drainMs), close upstream connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const server = this.#server;
      if (server) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + this.options.drainMs;
        while (this.#inflight > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          server.closeIdleConnections();
        }
        server.closeAllConnections();
        await closed;
      }
      for (const upstream of this.#upstreams.values()) upstream.agent.destroy();
      await this.#saving;
    })();
    return this.#closing;
  }
}

export type { CheckReport };
