import { type FeatureRef, type FeatureStore, type FeatureView, isVigilError } from '@vigil/core';
import type { FastifyInstance } from 'fastify';
import { feastResponse } from './feast-response.js';
import { parseOnlineRequest, RequestProblem } from './online-request.js';

export interface FeatureServerOptions {
  store: FeatureStore;
  /** Feature services by name (`features.services` in config). */
  services?: Readonly<Record<string, FeatureRef[]>>;
  /** Clock for OUTSIDE_MAX_AGE. Default: the wall clock. */
  now?: () => Date;
  /** Largest accepted body in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
}

/** How long the view list (for ttl and column → view) is reused before it is read again. */
const VIEWS_TTL_MS = 2000;

/**
 * Feast-compatible feature server over any FeatureStore: `POST /get-online-features` with
 * Feast's request and response JSON, `GET /health`. Every bad request gets a 4xx
 * `{"error", "field"}` naming the field; nothing a client sends can crash it.
 */
export async function createFeatureServer(options: FeatureServerOptions): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes ?? 1024 * 1024 });
  const services = options.services ?? {};
  const now = options.now ?? (() => new Date());
  let views: { at: number; byName: Map<string, FeatureView> } | undefined;
  const viewMap = async (): Promise<Map<string, FeatureView>> => {
    if (!views || Date.now() - views.at > VIEWS_TTL_MS) {
      const list = await options.store.listViews();
      views = { at: Date.now(), byName: new Map(list.map((v) => [v.name, v])) };
    }
    return views.byName;
  };

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof RequestProblem) {
      return reply.status(error.status).send({ error: error.message, field: error.field });
    }
    if (isVigilError(error)) {
      const status =
        error.code === 'VIGIL_FEATURE_UNKNOWN_VIEW'
          ? 404
          : error.code === 'VIGIL_FEATURE_INVALID_REQUEST'
            ? 400
            : 500;
      const field = /join key '([^']+)'/.exec(error.message)?.[1];
      return reply.status(status).send({
        error: error.message,
        code: error.code,
        field: field ? `entities.${field}` : status === 404 ? 'features' : undefined,
      });
    }
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const field = status === 415 ? 'content-type' : status < 500 ? 'body' : undefined;
    return reply
      .status(status)
      .send({ error: status < 500 ? error.message : 'internal error', ...(field ? { field } : {}) });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: `no route ${request.method} ${request.url}`, field: 'url' });
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.post('/get-online-features', async (request) => {
    const parsed = parseOnlineRequest(request.body, services);
    const result = await options.store.getOnlineFeatures({
      features: parsed.features,
      entityRows: parsed.entityRows,
      fullFeatureNames: parsed.fullFeatureNames,
    });
    const byName = await viewMap();
    const featureCount = parsed.features.length;
    const joinKeyCount = result.featureNames.length - featureCount;
    const columnViews = parsed.features.map((ref) => byName.get(ref.slice(0, ref.indexOf(':')))!);
    return feastResponse(result, joinKeyCount, columnViews, now());
  });
  return app;
}
