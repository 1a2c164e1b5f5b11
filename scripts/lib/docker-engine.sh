#!/usr/bin/env bash
# Sourceable helpers that make a Docker engine reachable on a bare CI/dev host.
#
#   source scripts/lib/docker-engine.sh
#   keel_docker_ensure   # no-op when `docker info` already answers
#   keel_docker_stop     # stops the engine only if keel_docker_ensure started it
#
# The engine runs with --iptables=false --bridge=none because CI hosts here have
# no netfilter and nothing outside to reach; workspaces default to NetworkMode none.

: "${KEEL_DOCKER_STATE:=/var/lib/keel-dockerd-state}"
: "${KEEL_DOCKER_WAIT_S:=60}"

_keel_docker_log() { printf 'keel-docker: %s\n' "$*" >&2; }

# Installs a Debian package only when the command is missing, so reruns cost nothing.
_keel_docker_need() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  _keel_docker_log "installing $pkg (missing $cmd)"
  if [ "$(id -u)" -ne 0 ]; then
    _keel_docker_log "need root to apt-get install $pkg"
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
}

_keel_docker_pid_alive() {
  local pidfile="$1" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}

keel_docker_ensure() {
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  _keel_docker_need dockerd docker.io || return 1
  _keel_docker_need docker docker.io || return 1
  mkdir -p "$KEEL_DOCKER_STATE" || return 1

  # Parallel callers (test files) must not start two daemons on one socket.
  local lockfd rc
  exec {lockfd}>"$KEEL_DOCKER_STATE/ensure.lock"
  flock "$lockfd"
  _keel_docker_start_and_wait "$lockfd"
  rc=$?
  exec {lockfd}>&-
  return "$rc"
}

_keel_docker_start_and_wait() {
  local lockfd="$1"
  local pidfile="$KEEL_DOCKER_STATE/dockerd.pid" log="$KEEL_DOCKER_STATE/dockerd.log"
  # Whoever held the lock before us may have started it already.
  docker info >/dev/null 2>&1 && return 0

  # A dockerd we launched earlier may still be starting up: wait for it instead of
  # racing a second daemon for the same socket and data root.
  if ! _keel_docker_pid_alive "$pidfile" && ! _keel_docker_pid_alive "$pidfile.launch"; then
    _keel_docker_log "starting dockerd (log: $log)"
    # setsid + closed stdio and lock: the daemon must outlive this shell and must not
    # hold the caller's pipes (a Node execFile would never see EOF) or the lock open.
    setsid dockerd --iptables=false --bridge=none --pidfile "$pidfile" \
      </dev/null >>"$log" 2>&1 {lockfd}>&- &
    # dockerd writes its own pidfile late; record the pid now so stop works even
    # if startup fails halfway.
    echo "$!" >"$pidfile.launch"
  fi

  local waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$KEEL_DOCKER_WAIT_S" ]; then
      _keel_docker_log "dockerd did not answer within ${KEEL_DOCKER_WAIT_S}s; last log lines:"
      tail -n 20 "$log" >&2 2>/dev/null
      return 1
    fi
    # The launch pid may still be `setsid` for a moment: existence is what matters here.
    if ! _keel_docker_pid_alive "$pidfile" && ! [ -d "/proc/$(cat "$pidfile.launch" 2>/dev/null)" ]; then
      _keel_docker_log "dockerd exited during startup; last log lines:"
      tail -n 20 "$log" >&2 2>/dev/null
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  return 0
}

keel_docker_stop() {
  local pidfile="$KEEL_DOCKER_STATE/dockerd.pid" pid=""
  if _keel_docker_pid_alive "$pidfile"; then
    pid="$(cat "$pidfile")"
  elif _keel_docker_pid_alive "$pidfile.launch"; then
    pid="$(cat "$pidfile.launch")"
  fi
  if [ -z "$pid" ]; then
    rm -f "$pidfile.launch"
    return 0
  fi
  _keel_docker_log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null
  local waited=0
  while [ -d "/proc/$pid" ] && [ "$waited" -lt 30 ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if [ -d "/proc/$pid" ]; then
    _keel_docker_log "dockerd did not stop within 30s; sending KILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile.launch"
  return 0
}
