# keel-runner, the daemon that runs workspaces on a host, as an image.
# Build from the repository root:   docker build -f runner.Dockerfile -t keel-runner .
#   (or scripts/build-runner-image, which also works without a registry)
# Run beside the host's Docker engine:
#   docker run -d --name keel-runner -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /var/lib/docker/volumes:/var/lib/docker/volumes \
#     -v keel-runner:/var/lib/keel-runner -e KEEL_URL=https://keel.example.com \
#     -e KEEL_RUNNER_TOKEN=rgt_… -e REDIS_URL=redis://redis.internal:6379 keel-runner
# It runs as root inside its container because it drives the Docker socket and hands cloned
# files to the workspace user; the workspaces themselves run unprivileged and hardened. It reads
# and writes workspace files where the engine keeps them, so the engine's volumes folder is
# mounted at the same path (it refuses to start otherwise). Workspaces with network get
# slirp4netns and egress rules in the container's namespace, which needs the host's processes
# and the right to enter their namespaces: add --pid=host --privileged for those.

# scripts/build-runner-image builds it, also on a host with no registry (see there).
ARG NODE_IMAGE=node:20-bookworm-slim

# Dependencies, with node-pty's native addon (the terminals) compiled: it has no prebuilt binary for
# Linux. The compiler stays in this stage.
FROM ${NODE_IMAGE} AS deps
# Where the base keeps Node's headers (node-gyp then downloads nothing).
ARG NODE_DIR=/usr/local
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=${NODE_DIR}
WORKDIR /opt/keel
COPY package.json package-lock.json ./
COPY edge/contract/package.json edge/contract/
COPY drizzle/package.json drizzle/
COPY edge/package.json edge/
COPY runners/package.json runners/
COPY web/package.json web/
# The root package too: its postinstall (patch-package, with nothing to patch here) must find its program.
RUN npm install --omit=dev --no-audit --no-fund --include-workspace-root -w @keel/runner -w @keel/contract \
  && node -e "require('node-pty')"

FROM ${NODE_IMAGE}

RUN apt-get update \
  && apt-get install -y --no-install-recommends git bubblewrap ca-certificates openssh-client procps \
     slirp4netns nftables iproute2 util-linux \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/keel
# Manifests and every node_modules (workspaces may have their own), built addon included.
COPY --from=deps /opt/keel /opt/keel
COPY edge/contract/src edge/contract/src
COPY runners runners
# The bundled runner: less memory than the sources through the TypeScript loader.
RUN node runners/bundle.mjs

ENV KEEL_RUNNER_DATA_DIR=/var/lib/keel-runner
VOLUME /var/lib/keel-runner
ENTRYPOINT ["node", "runners/bin/keel-runner.mjs"]
