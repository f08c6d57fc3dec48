/**
 * `GET /dane/:domain?mode=&port=&timeout=`: the DANE check of a mail domain (src/dane), resolved by the running
 * daemon through the path client queries take (its answer cache in front of the resolver), as JSON: the steps,
 * the decision for the mode, and the text lines `daneverify` prints. Registered by api.ts as a plugin; the
 * token and http.allow checks of api.ts apply to it like to every route but /healthz.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Daemon } from '../daemon/index.js';
import { checkDomain } from '../dane/check.js';
import { handlerLookup } from '../dane/lookup.js';
import { MODES, type Mode } from '../dane/policy.js';
import { renderText } from '../dane/report.js';
import { defaultHelo } from '../dane/smtp.js';
import { Name, WireError } from '../wire/index.js';

const ERROR = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
const OBJECT = { type: 'object', additionalProperties: true } as const;

export const DANE_SCHEMA = {
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
        decision: OBJECT,
        hosts: { type: 'array', items: OBJECT },
        steps: { type: 'array', items: OBJECT },
        text: { type: 'array', items: { type: 'string' } },
      },
    },
    400: ERROR,
  },
} as const;

/** Default step timeout (s); the whole check gets six of them, at least 30 s. */
const DEFAULT_TIMEOUT = 10;

async function dane(daemon: Daemon, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
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
    clock: { now: () => Date.now() },
    stepTimeoutMs: step * 1000,
    deadlineMs: Math.max(30, step * 6) * 1000,
  });
  return { ...r, action: r.decision.action, text: renderText(r).trimEnd().split('\n') };
}

/** The plugin: `await app.register(danePlugin(daemon))`. */
export function danePlugin(daemon: Daemon): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.get('/dane/:domain', { schema: DANE_SCHEMA }, (req, reply) => dane(daemon, req, reply));
  };
}
