#!/usr/bin/env bash
# Sourceable: the Node 20 bookworm base that runner.Dockerfile and edge.Dockerfile build on.
#
#   source scripts/lib/node-base-image.sh
#   keel_node_base_args   # sets KEEL_BASE_ARGS: the docker build arguments for the base
#
# With a registry, the Dockerfiles' own base (node:20-bookworm-slim) is used (no arguments). Without
# one (an air-gapped host), and when the host runs Node 20 on Debian bookworm, a stand-in base is
# made first: the bookworm root that scripts/build-workspace-image caches, plus the host's own Node,
# headers and npm under /usr (keel-node:20-bookworm). The builds' RUN steps reach the host's Debian
# mirror and npm registry through the host network.
#
# Env: KEEL_CACHE_DIR (default /var/cache/keel).

_keel_base_log() { printf 'node-base-image: %s\n' "$*" >&2; }

keel_node_base_args() {
  local upstream=node:20-bookworm-slim local_base=keel-node:20-bookworm
  local cache_dir="${KEEL_CACHE_DIR:-/var/cache/keel}" here tarball work
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  KEEL_BASE_ARGS=()
  # The same root file system the workspace image is made from (and its cache).
  "$here/build-workspace-image" >/dev/null
  if docker image inspect "$upstream" >/dev/null 2>&1 || docker pull -q "$upstream" >/dev/null 2>&1; then
    _keel_base_log "base $upstream"
    return 0
  fi
  if ! docker image inspect "$local_base" >/dev/null 2>&1; then
    [[ "$(node -v)" == v20.* ]] || {
      _keel_base_log "no registry and the host's Node is $(node -v), not 20: cannot make a base"
      return 1
    }
    if [ ! -x /usr/bin/node ] || [ ! -d /usr/include/node ] || [ ! -d /usr/lib/node_modules/npm ]; then
      _keel_base_log "no registry and Node is not installed under /usr (with headers and npm): cannot make a base"
      return 1
    fi
    tarball="$(ls -t "$cache_dir"/workspace-bookworm-*.tar 2>/dev/null | head -n1)"
    [ -s "$tarball" ] || {
      _keel_base_log "no cached bookworm root in $cache_dir"
      return 1
    }
    work="$(mktemp -d)"
    _keel_base_log "no registry: making $local_base from $tarball and the host's Node"
    docker import "$tarball" keel-bookworm-root:build >/dev/null
    # Node, its headers and npm as the host has them (npm may be newer than the package's).
    tar -C / -cf "$work/nodejs.tar" usr/bin/node usr/bin/npm usr/bin/npx usr/include/node usr/lib/node_modules/npm
    # The host's trust store too: its npm registry may sit behind a proxy with its own CA.
    cp /etc/ssl/certs/ca-certificates.crt "$work/ca-certificates.crt"
    printf '%s\n' 'FROM keel-bookworm-root:build' 'ADD nodejs.tar /' \
      'COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt' \
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' 'CMD ["node"]' >"$work/Dockerfile"
    local built=0
    docker build -q -t "$local_base" "$work" >/dev/null && built=1
    docker rmi keel-bookworm-root:build >/dev/null 2>&1 || true
    rm -rf "$work"
    [ "$built" = 1 ] || return 1
  fi
  _keel_base_log "base $local_base"
  # Node's headers are under /usr there, where node-gyp looks with nodedir=/usr.
  KEEL_BASE_ARGS=(--build-arg "NODE_IMAGE=$local_base" --build-arg "NODE_DIR=/usr")
}
