# Sourced by scripts/up: the users of the Redis it starts (see redis-users.ts).

# keel_prepare_redis_users DIR: writes DIR/users.acl (`default` off, the edge's user, the
# runner users it already held) and DIR/edge.password (0600, made once), and sets
# KEEL_REDIS_USER and KEEL_REDIS_PASSWORD for the URL.
keel_prepare_redis_users() {
  local login
  login="$(node --import tsx "$(keel_root)/scripts/lib/redis-users.ts" "$1")" || keel_die "could not prepare Redis users in $1"
  KEEL_REDIS_USER="${login%%:*}"
  KEEL_REDIS_PASSWORD="${login#*:}"
}

# keel_redis_ping PORT: true once Redis answers the edge's user (REDISCLI_AUTH keeps the
# password off the command line). redis-cli waits forever for an answer: a port that
# something else took, and that never answers, must not hold scripts/up.
keel_redis_ping() {
  [ "$(REDISCLI_AUTH="$KEEL_REDIS_PASSWORD" timeout 2 redis-cli --no-auth-warning --user "$KEEL_REDIS_USER" -p "$1" ping 2>/dev/null)" = PONG ]
}

# keel_start_redis DIR: starts redis-server in the background for scripts/up, on a free
# loopback port, with its data, log and ACL file in DIR (keel_prepare_redis_users first); sets
# redis_port and redis_pid once Redis answers the edge's user. A free port can be taken by
# another process before Redis binds it, so a Redis that exits is started again on another
# port (three tries); one that is alive but silent gets 20 s (a loaded machine).
keel_start_redis() {
  local dir="$1" attempt
  for attempt in 1 2 3; do
    redis_port="$(keel_free_port)"
    # Append-only persistence: queued jobs survive a Redis restart. A full Redis refuses
    # writes (noeviction) rather than silently dropping queued jobs; commands' output is what
    # fills it. umask 077: what Redis writes (the append-only file holds sessions and command
    # output; the ACL file is rewritten by every ACL SAVE) is the owner's alone.
    (umask 077 && exec redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" \
      --appendonly yes --save '' --logfile "$dir/redis.log" \
      --maxmemory "${KEEL_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy noeviction \
      --aclfile "$dir/users.acl") &
    redis_pid=$!
    for _ in $(seq 1 200); do
      keel_redis_ping "$redis_port" && return 0
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$redis_pid" 2>/dev/null; then
      kill -TERM "$redis_pid" 2>/dev/null
      wait "$redis_pid" 2>/dev/null
      return 1
    fi
    wait "$redis_pid" 2>/dev/null
    keel_say "redis-server could not start on port $redis_port (try $attempt of 3)"
  done
  return 1
}
