# dnssec-stubd in a container. Build: docker build -t dnssec-stubd .
# Run:  docker run --rm -p 127.0.0.1:5353:5353/udp -p 127.0.0.1:5353:5353/tcp dnssec-stubd \
#         serve --listen 0.0.0.0:5353 --allow 172.16.0.0/12 --upstream 192.0.2.53
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY bin ./bin
COPY trust-anchors ./trust-anchors
# The RFC 5011 anchor state must outlive the container: keep it on a volume.
RUN mkdir -p /var/lib/dnssec-stubd && chown node:node /var/lib/dnssec-stubd && chmod 700 /var/lib/dnssec-stubd
VOLUME /var/lib/dnssec-stubd
USER node
EXPOSE 5353/udp 5353/tcp
ENTRYPOINT ["node", "bin/dnssec-stubd.js"]
CMD ["serve", "--listen", "0.0.0.0:5353"]
