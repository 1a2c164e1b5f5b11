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
# password off the command line).
keel_redis_ping() {
  [ "$(REDISCLI_AUTH="$KEEL_REDIS_PASSWORD" redis-cli --no-auth-warning --user "$KEEL_REDIS_USER" -p "$1" ping 2>/dev/null)" = PONG ]
}
