/**
 * The HTTP status API (fastify): what the daemon is doing, for operators, probes and scrapers. Every route
 * is declared once in ROUTES with its JSON schemas (request validation, fast response serialization) and
 * its handler; the OpenAPI document at /openapi.json is generated from the same table.
 *
 * Access: loopback only by default. A configured token (http.token / http.tokenFile) is required as
 * `Authorization: Bearer <token>` on every route but /healthz; a client outside http.allow gets 403.
 * A listen address that is not loopback without a token stops startup (routes.ts has the handlers).
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Daemon } from '../daemon/index.js';
import { readHttpToken } from '../config/load.js';
import { ConfigError } from '../config/schema.js';
import { AccessList } from '../server/acl.js';
import { normalizeAddress } from '../net/address.js';
import { ROUTES, type MetricsLike, type RouteSpec } from './routes.js';
import { DANE_ROUTE } from './dane.js';

/** Every route the API serves: the status routes and the DANE check. */
export const API_ROUTES: readonly RouteSpec[] = [...ROUTES, DANE_ROUTE];

export interface HttpApi {
  readonly addresses: readonly { address: string; port: number }[];
  close(): Promise<void>;
}

/** The OpenAPI 3 document of the routes (their schemas as declared). */
export function openApi(version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  const fields = (schema: unknown, where: 'query' | 'path') => {
    const o = schema as { properties?: Record<string, object>; required?: string[] } | undefined;
    return Object.entries(o?.properties ?? {}).map(([name, s]) => ({ name, in: where, required: where === 'path' || (o?.required ?? []).includes(name), schema: s }));
  };
  for (const r of API_ROUTES) {
    const params = [...fields(r.schema.params, 'path'), ...fields(r.schema.querystring, 'query')];
    const responses = Object.fromEntries(Object.entries((r.schema.response as Record<string, unknown> | undefined) ?? {}).map(([code, schema]) => [code, {
      description: code === '200' ? 'OK' : 'error', content: { [r.url === '/metrics' ? 'text/plain' : 'application/json']: { schema } },
    }]));
    const url = r.url.replace(/:(\w+)/g, '{$1}');
    paths[url] = { ...(paths[url] ?? {}), [r.method.toLowerCase()]: { summary: r.summary, parameters: params, responses, ...(r.open ? {} : { security: [{ bearer: [] }] }) } };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'dnssec-stubd status API', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

/** Start the API on every configured address (none: nothing). */
export async function startHttpApi(daemon: Daemon, metrics: MetricsLike | undefined, version: string): Promise<HttpApi | undefined> {
  const cfg = daemon.config.http;
  if (cfg.listen.length === 0) return undefined;
  const token = readHttpToken(cfg);
  const loopback = new AccessList(['127.0.0.0/8', '::1/128']);
  const exposed = cfg.listen.find((l) => !loopback.allows(l.address));
  if (exposed && token === undefined) {
    throw new ConfigError('http.listen', `${exposed.address} is not a loopback address: set http.token or http.tokenFile (every route but /healthz then needs it)`);
  }
  const acl = new AccessList(cfg.allow);
  const apps: FastifyInstance[] = [];
  const started = Date.now();
  try {
    for (const l of cfg.listen) {
      // Unknown query parameters are an error, not silently dropped (fastify's default removes them).
      const app = Fastify({ logger: false, return503OnClosing: true, ajv: { customOptions: { removeAdditional: false } } });
      app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        if (!acl.allows(normalizeAddress(req.ip))) return reply.code(403).send({ error: 'Forbidden', message: `client ${req.ip} is not in http.allow` });
        const route = API_ROUTES.find((r) => r.url === req.routeOptions.url && r.method === req.method);
        if (token !== undefined && !route?.open && req.headers.authorization !== `Bearer ${token}`) {
          return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Unauthorized', message: 'a valid "Authorization: Bearer <token>" header is needed' });
        }
        return undefined;
      });
      app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json` }));
      app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, _req, reply) => {
        const code = err.validation ? 400 : err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
        void reply.code(code).send({ error: code === 400 ? 'Bad Request' : code === 500 ? 'Internal Server Error' : 'Error', message: err.message });
      });
      for (const r of API_ROUTES) register(app, r, { daemon, metrics, version, started });
      app.get('/openapi.json', { schema: { hide: true } as object }, async () => openApi(version));
      await app.listen({ host: l.address, port: l.port });
      apps.push(app);
    }
  } catch (err) {
    await Promise.all(apps.map((a) => a.close()));
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') throw new ConfigError('http.listen', `cannot listen: ${e.message}`);
    throw err;
  }
  const addresses = apps.map((a) => {
    const x = a.server.address() as AddressInfo;
    return { address: x.address, port: x.port };
  });
  return { addresses, close: async () => void (await Promise.all(apps.map((a) => a.close()))) };
}

function register(app: FastifyInstance, r: RouteSpec, ctx: Parameters<RouteSpec['handler']>[0]): void {
  app.route({
    method: r.method,
    url: r.url,
    schema: r.schema,
    handler: async (req, reply) => r.handler(ctx, req, reply),
  });
}
