/**
 * The routes of the status API, each with its schemas (fastify validates requests and serializes
 * responses with them; api.ts builds /openapi.json from them) and its handler over the running daemon.
 */
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Daemon } from '../daemon/index.js';
import { answerTtl, outcomeOf } from '../resolver/answer.js';
import { describeReason } from '../validator/ede.js';
import { EdeCode, Name, RRClass, WireError, rcodeToText, rrToText, typeFromText, typeToText } from '../wire/index.js';

/** What serves /metrics (src/metrics): the exposition text and its content type, and the answers it counted. */
export interface MetricsLike {
  readonly contentType: string;
  render(): Promise<string>;
  /** Answers since start by validation status and by EDE code (the numbers of answers_total and answer_ede_total). */
  answerCounts?(): { statuses: Record<string, number>; ede: readonly { code: number; count: number }[] };
}

const EDE_NAMES = new Map<number, string>(Object.entries(EdeCode).map(([name, code]) => [code, name]));

/** The /status schema's parts that are ours (the rest is the components' statistics, passed through). */
const COUNT_MAP = { type: 'object', additionalProperties: { type: 'integer' } } as const;
const STATUS_RESPONSE = {
  type: 'object',
  additionalProperties: true,
  required: ['version', 'uptimeSeconds', 'statuses', 'answers', 'ede', 'clock'],
  properties: {
    version: { type: 'string' },
    uptimeSeconds: { type: 'integer' },
    /** Resolutions (cache misses) by outcome, from the resolver. */
    statuses: COUNT_MAP,
    /** Answers to clients by validation status ('none': the listener's own replies), since start: the metrics' query tally (the one subscriber to the query events, made whenever this API is on); null only for a daemon started without metrics (DaemonOptions.metrics null). */
    answers: { ...COUNT_MAP, nullable: true },
    /** Whether the system clock looks wrong (resolver/clock-sanity.ts): direction 'ahead' or 'behind', the zones and the offset bounds. */
    clock: {
      type: 'object', required: ['suspect', 'direction', 'evidence'],
      properties: {
        suspect: { type: 'boolean' }, direction: { type: 'string', nullable: true }, message: { type: 'string' },
        evidence: { type: 'object', additionalProperties: true },
      },
    },
    /** Answers to clients carrying each Extended DNS Error code (RFC 8914), since start, from the same tally; null as `answers`. */
    ede: {
      type: 'array', nullable: true,
      items: { type: 'object', required: ['code', 'name', 'count'], properties: { code: { type: 'integer' }, name: { type: 'string' }, count: { type: 'integer' } } },
    },
  },
} as const;

export interface RouteContext {
  daemon: Daemon;
  metrics: MetricsLike | undefined;
  version: string;
  /** When the API started (ms): the daemon's uptime is measured from it. */
  started: number;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  url: string;
  summary: string;
  /** Open to anyone allowed by http.allow, without the token (only /healthz). */
  open?: boolean;
  schema: FastifySchema;
  handler(ctx: RouteContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

export const ERROR = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
/** A JSON object whose fields are the daemon's own (statistics shapes change with the components). */
export const ANY_OBJECT = { type: 'object', additionalProperties: true } as const;

/** Why the daemon is not ready to serve an MTA, if it is not. */
export function readiness(d: Daemon): string[] {
  const s = d.stats();
  const reasons: string[] = [];
  if (d.addresses.length === 0) reasons.push('the DNS listeners are not open');
  if (d.config.server.warmupQueries > 0 && (!s.selfTest || s.selfTest.failed.length > 0)) {
    reasons.push(s.selfTest ? `the self-test failed: ${s.selfTest.failed.join(', ')}` : 'the self-test has not run');
  }
  const capable = s.upstreams.some((r) => r.health.some((h) => h.state === 'DNSSEC-CAPABLE'));
  if (!capable) reasons.push('no DNSSEC-capable upstream is known');
  for (const a of s.anchors) if (a.ds + a.dnskeys === 0) reasons.push(`trust anchor zone ${a.zone} has no trusted key`);
  return reasons;
}

async function resolve(ctx: RouteContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const q = req.query as { name: string; type?: string; cd?: string };
  let name: Name;
  try {
    name = Name.fromText(q.name.endsWith('.') ? q.name : `${q.name}.`);
  } catch (err) {
    return reply.code(400).send({ error: 'Bad Request', message: `name: ${err instanceof WireError ? err.message : String(err)}` });
  }
  const type = typeFromText((q.type ?? 'A').toUpperCase());
  if (type === undefined) return reply.code(400).send({ error: 'Bad Request', message: `type: unknown record type ${JSON.stringify(q.type)}` });
  const cd = q.cd === '1' || q.cd === 'true';
  const qtext = `${name.toText()} ${typeToText(type)}`;
  const res = await ctx.daemon.stack.resolver.resolve({ name, type, class: RRClass.IN }, { checkingDisabled: cd });
  const o = outcomeOf(res, qtext);
  const records = o.kind === 'data' ? { answer: o.answer.map(rrToText), authority: o.authority.map(rrToText) } : { answer: [], authority: [] };
  return {
    query: qtext,
    status: o.status,
    rcode: rcodeToText(o.kind === 'data' ? o.rcode : 2),
    ttl: o.kind === 'data' ? answerTtl(o.answer.length ? o.answer : o.authority) ?? null : null,
    ...records,
    ede: o.ede.map((e) => ({ code: e.code, text: e.text ?? '' })),
    reason: res.kind === 'answer' && (res.verdict.security === 'bogus' || res.verdict.security === 'insecure') ? describeReason(res.verdict.reason) : null,
    trail: res.kind === 'answer' ? res.verdict.trail : [],
    upstreams: res.upstreams,
  };
}

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET', url: '/healthz', summary: 'the process is up', open: true,
    schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
    handler: async () => ({ status: 'ok' }),
  },
  {
    method: 'GET', url: '/readyz', summary: 'ready to serve: listeners open, self-test passed, a DNSSEC-capable upstream, a trusted key per anchor zone',
    schema: { response: { 200: { type: 'object', properties: { ready: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } } }, 503: { type: 'object', properties: { ready: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } } } } },
    handler: async (ctx, _req, reply) => {
      const reasons = readiness(ctx.daemon);
      return reply.code(reasons.length ? 503 : 200).send({ ready: reasons.length === 0, reasons });
    },
  },
  {
    method: 'GET', url: '/status', summary: 'version, uptime, listeners, self-test, crypto, upstreams, forward zones, anchors, cache, counts per status and per EDE code',
    schema: { response: { 200: STATUS_RESPONSE } },
    handler: async (ctx) => {
      const d = ctx.daemon;
      const s = d.stats();
      const lookups = s.cache.hits + s.cache.misses;
      const counted = ctx.metrics?.answerCounts?.();
      return {
        version: ctx.version,
        uptimeSeconds: Math.round((Date.now() - ctx.started) / 1000),
        listeners: d.addresses,
        selfTest: s.selfTest ?? null,
        crypto: s.crypto,
        upstreams: s.upstreams,
        forwardZones: d.config.forwardZones.map((z) => z.suffix),
        negativeTrustAnchors: d.config.negativeTrustAnchors,
        anchors: s.anchors,
        managedAnchors: s.managedAnchors ?? null,
        cache: { ...s.cache, hitRatio: lookups ? s.cache.hits / lookups : null },
        statuses: s.resolver.statuses,
        answers: counted?.statuses ?? null,
        ede: counted ? counted.ede.map((e) => ({ code: e.code, name: EDE_NAMES.get(e.code) ?? `EDE${e.code}`, count: e.count })) : null,
        resolver: s.resolver,
        signatures: s.signatures,
        clock: s.clock,
        server: s.server ?? null,
      };
    },
  },
  {
    method: 'GET', url: '/resolve', summary: 'resolve and validate a name: status, rcode, TTL, records, EDEs and the reason trail',
    schema: {
      querystring: {
        type: 'object', required: ['name'], additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 255 }, type: { type: 'string', minLength: 1, maxLength: 16 }, cd: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
      },
      response: { 200: ANY_OBJECT, 400: ERROR },
    },
    handler: resolve,
  },
  {
    method: 'GET', url: '/upstreams', summary: 'every upstream by route: priority, DNSSEC state and evidence, last probe, counters, strikes',
    schema: { response: { 200: { type: 'object', properties: { routes: { type: 'array', items: ANY_OBJECT } } } } },
    handler: async (ctx) => ({ routes: ctx.daemon.stats().upstreams }),
  },
  {
    method: 'POST', url: '/upstreams/probe', summary: 'probe every upstream now; the states after it',
    schema: { response: { 200: { type: 'object', properties: { routes: { type: 'array', items: ANY_OBJECT } } } } },
    handler: async (ctx) => {
      await ctx.daemon.stack.router?.probeNow();
      return { routes: ctx.daemon.stats().upstreams };
    },
  },
  {
    method: 'GET', url: '/anchors', summary: 'the trust anchors in use and their RFC 5011 states',
    schema: { response: { 200: { type: 'object', properties: { anchors: { type: 'array', items: ANY_OBJECT }, managed: { type: 'array', nullable: true, items: ANY_OBJECT } } } } },
    handler: async (ctx) => {
      const s = ctx.daemon.stats();
      return { anchors: s.anchors, managed: s.managedAnchors ?? null };
    },
  },
  {
    method: 'POST', url: '/cache/flush', summary: 'flush the answer cache (and keys, proofs): everything, or a name and what is below it',
    schema: {
      querystring: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 255 } } },
      response: { 200: { type: 'object', properties: { flushed: { type: 'integer' }, name: { type: 'string', nullable: true } } }, 400: ERROR },
    },
    handler: async (ctx, req, reply) => {
      const name = (req.query as { name?: string }).name;
      try {
        return { flushed: ctx.daemon.flush(name), name: name ?? null };
      } catch (err) {
        if (err instanceof WireError) return reply.code(400).send({ error: 'Bad Request', message: `name: ${err.message}` });
        throw err;
      }
    },
  },
  {
    method: 'GET', url: '/metrics', summary: 'Prometheus metrics',
    schema: {},
    handler: async (ctx, _req, reply) => {
      if (!ctx.metrics) return reply.code(404).send({ error: 'Not Found', message: 'metrics are not enabled' });
      return reply.type(ctx.metrics.contentType).send(await ctx.metrics.render());
    },
  },
];
