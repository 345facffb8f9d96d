# The images of a P2P Prolog deployment (docker-compose-signaller.yml, docker-compose-client.yml):
#   app  the signaller and the node peer (one image, two commands)
#   www  the built web page (srv/www, made by `sh bootstrap.sh`) and a small static server
# Both run as the unprivileged user p2p; docker/entrypoint.sh says how secrets reach it.
# The base is overridable: --build-arg NODE_IMAGE=node:22-bookworm-slim (Node 22.18 or newer).
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only. No peer dependencies either: @libp2p/webrtc (used by the page,
# which Parcel bundles on the host) pulls in react-native through one, 230 MB that no Node
# program here loads.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=peer --no-audit --no-fund --loglevel=error

# The signaller and the node peer.
FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production
RUN useradd --uid 10001 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin p2p \
 && mkdir -p /data \
 && chown p2p:p2p /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
# Bundled on the host by `sh bootstrap.sh` (npm run build:node), as srv/www is built there.
COPY dist ./dist
COPY docker/entrypoint.sh /usr/local/bin/p2p-entrypoint
VOLUME /data
ENTRYPOINT ["/bin/sh", "/usr/local/bin/p2p-entrypoint"]
CMD ["signaller"]

# The web page: no node_modules at all, Node runs the server's TypeScript by itself.
FROM ${NODE_IMAGE} AS www
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 WWW_ROOT=/app/srv/www
RUN useradd --uid 10001 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin p2p
WORKDIR /app
COPY package.json ./
COPY node/cli.ts node/static-server.ts ./node/
COPY scripts/www-server.ts ./scripts/
COPY srv/www ./srv/www
COPY docker/entrypoint.sh /usr/local/bin/p2p-entrypoint
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "/usr/local/bin/p2p-entrypoint"]
CMD ["www"]
