# keel-edge, the API and the web app on Node, as an image.
# Build from the repository root:   docker build -f edge.Dockerfile -t keel-edge .
#   (or scripts/build-edge-image, which also works without a registry)
# Run it with PostgreSQL and Redis (deploy/compose/ and deploy/kubernetes/ do):
#   docker run -d -p 8787:8787 -e DATABASE_URL=postgres://keel:…@db/keel \
#     -e REDIS_URL=redis://:…@redis:6379 -e KEEL_SECRET_KEY_FILE=/run/secrets/keel_secret_key \
#     -e KEEL_PUBLIC_URL=https://keel.example.com -e KEEL_MIGRATE_ON_START=true keel-edge
# Any variable of docs/CONFIGURATION.md that holds a secret may instead name a file (NAME_FILE).
# It runs unprivileged (uid 1000): the edge keeps no state of its own.

# scripts/build-edge-image builds it, also on a host with no registry (see there).
ARG NODE_IMAGE=node:20-bookworm-slim

# The edge's runtime dependencies only (no native addons to compile).
FROM ${NODE_IMAGE} AS deps
WORKDIR /opt/keel
COPY package.json package-lock.json ./
COPY edge/contract/package.json edge/contract/
COPY drizzle/package.json drizzle/
COPY edge/package.json edge/
COPY runners/package.json runners/
COPY web/package.json web/
# Fixes to dependencies, applied by the root postinstall (patch-package, a root dependency: hence
# --include-workspace-root): postgres.js's among them.
COPY patches patches
RUN npm install --omit=dev --no-audit --no-fund --include-workspace-root -w @keel/edge -w @keel/contract -w @keel/drizzle

# The web app, built with its own tools, which stay in this stage.
FROM ${NODE_IMAGE} AS web
WORKDIR /opt/keel
COPY package.json package-lock.json ./
COPY edge/contract/package.json edge/contract/
COPY drizzle/package.json drizzle/
COPY edge/package.json edge/
COPY runners/package.json runners/
COPY web/package.json web/
# No install scripts: the build needs none (esbuild comes as a platform package), and the root's
# postinstall (patch-package) is not installed without the root package.
RUN npm install --no-audit --no-fund --ignore-scripts --include-workspace-root=false -w @keel/web -w @keel/contract
COPY tsconfig.base.json ./
COPY edge/contract/src edge/contract/src
COPY web web
RUN npm run build -w @keel/web

FROM ${NODE_IMAGE}
WORKDIR /opt/keel
COPY --from=deps /opt/keel /opt/keel
COPY edge/contract/src edge/contract/src
COPY drizzle drizzle
COPY edge/src edge/src
COPY --from=web /opt/keel/web/dist web/dist
# Only the embedded database (no DATABASE_URL, a trial) writes here; production keeps nothing.
RUN mkdir -p /var/lib/keel-edge && chown 1000:1000 /var/lib/keel-edge
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8787 KEEL_DATA_DIR=/var/lib/keel-edge
# The base's `node` user (a base made without a registry has no name for it).
USER 1000:1000
EXPOSE 8787
ENTRYPOINT ["node", "--import", "tsx", "edge/src/entry-node.ts"]
