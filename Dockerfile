# dnssec-stubd in a container.
#
#   docker build -t dnssec-stubd .
#   docker run -d --name dnssec-stubd -p 127.0.0.1:53:53/udp -p 127.0.0.1:53:53/tcp \
#     -v dnssec-stubd-state:/var/lib/dnssec-stubd dnssec-stubd --upstream 192.0.2.53
#
# Its configuration is docker/config.yaml, installed as /etc/dnssec-stubd/config.yaml: port 53 on every address,
# clients from loopback and the private ranges, the HTTP API on the container's loopback. Flags after the image
# name override the keys they name.
#
# It runs as the unprivileged user `node` and listens on port 53: Docker (20.10 and later) and Podman set
# net.ipv4.ip_unprivileged_port_start=0 inside a container's own network namespace, so no capability is needed.
# Where that does not hold (--network host, older runtimes), listen on a high port and let the runtime map it:
#   docker run ... -p 127.0.0.1:53:5353/udp -p 127.0.0.1:53:5353/tcp dnssec-stubd --listen 0.0.0.0:5353
# The HTTP API stays on the container's loopback (the HEALTHCHECK uses it); to scrape /metrics from outside,
# bind it wider with a token: --http 0.0.0.0:8053 and `http.tokenFile` in a mounted config (README "Running in
# Docker").

# --- build: every dependency, the TypeScript compiler, then only what runs ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.src.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY src ./src
RUN npx tsc -p tsconfig.src.json && npm prune --omit=dev --ignore-scripts

# --- run: production dependencies and the compiled daemon, as a non-root user ---
FROM node:20-bookworm-slim
# No NODE_OPTIONS heap flags: bin/dnssec-stubd.js starts the daemon with limits derived from cache.maxBytes.
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY bin ./bin
COPY trust-anchors ./trust-anchors
COPY docker/config.yaml /etc/dnssec-stubd/config.yaml
# The RFC 5011 anchor state must outlive the container: keep it on a volume.
RUN mkdir -p /var/lib/dnssec-stubd && chown node:node /var/lib/dnssec-stubd && chmod 700 /var/lib/dnssec-stubd
VOLUME /var/lib/dnssec-stubd
USER node
EXPOSE 53/udp 53/tcp 8053/tcp
# /readyz: 200 once the listeners are open, the self-test passed, a DNSSEC-capable upstream is known and every
# anchor zone has a trusted key (503 with the reasons otherwise). The first start probes and self-tests: allow a minute.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8053/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/dnssec-stubd.js", "serve", "--config", "/etc/dnssec-stubd/config.yaml"]
CMD []
