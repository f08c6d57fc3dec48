/**
 * `GET /dane/:domain?mode=&port=&timeout=`: the DANE check of a mail domain (src/dane), resolved by the running
 * daemon through the path client queries take (its answer cache in front of the resolver), as JSON: the steps,
 * the decision for the mode, and the text lines `daneverify` prints. One more route of the table (api.ts serves
 * it beside routes.ts's ROUTES); the token and http.allow checks apply to it like to every route but /healthz.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkDomain } from '../dane/check.js';
import { handlerLookup } from '../dane/lookup.js';
import { MODES, type Mode } from '../dane/policy.js';
import { renderText } from '../dane/report.js';
import { defaultHelo } from '../dane/smtp.js';
import { Name, WireError } from '../wire/index.js';
import { ANY_OBJECT, ERROR, type RouteContext, type RouteSpec } from './routes.js';

const DANE_SCHEMA = {
  params: {
    type: 'object', required: ['domain'], additionalProperties: false,
    properties: { domain: { type: 'string', minLength: 1, maxLength: 255 } },
  },
  querystring: {
    type: 'object', additionalProperties: false,
    properties: {
      mode: { type: 'string', enum: [...MODES] },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      timeout: { type: 'number', minimum: 0.1, maximum: 300 },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        domain: { type: 'string' },
        mode: { type: 'string' },
        port: { type: 'integer' },
        action: { type: 'string', enum: ['success', 'fail', 'fallback'] },
        decision: ANY_OBJECT,
        hosts: { type: 'array', items: ANY_OBJECT },
        steps: { type: 'array', items: ANY_OBJECT },
        text: { type: 'array', items: { type: 'string' } },
      },
    },
    400: ERROR,
  },
} as const;

/** Default step timeout (s); the whole check gets six of them, at least 30 s. */
const DEFAULT_TIMEOUT = 10;

async function dane({ daemon }: RouteContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const { domain } = req.params as { domain: string };
  const q = req.query as { mode?: Mode; port?: number; timeout?: number };
  let name: Name;
  try {
    name = Name.fromText(domain.endsWith('.') ? domain : `${domain}.`);
  } catch (err) {
    return reply.code(400).send({ error: 'Bad Request', message: `domain: ${err instanceof WireError ? err.message : String(err)}` });
  }
  if (name.isRoot()) return reply.code(400).send({ error: 'Bad Request', message: 'domain: expected a mail domain, got the root' });
  const step = q.timeout ?? DEFAULT_TIMEOUT;
  const r = await checkDomain({
    domain: name,
    mode: q.mode ?? 'rfc7672',
    port: q.port ?? 25,
    lookup: handlerLookup(daemon.stack.cached.handler),
    helo: defaultHelo(),
    clock: daemon.clock,
    stepTimeoutMs: step * 1000,
    deadlineMs: Math.max(30, step * 6) * 1000,
  });
  return { ...r, action: r.decision.action, text: renderText(r).trimEnd().split('\n') };
}

export const DANE_ROUTE: RouteSpec = {
  method: 'GET', url: '/dane/:domain',
  summary: 'DANE check of a mail domain (MX, A/AAAA, TLSA, STARTTLS certificate) and the decision for a mode',
  schema: DANE_SCHEMA,
  handler: dane,
};
