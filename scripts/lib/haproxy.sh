# keel_haproxy_config HOST PORT EDGE_PORT... : prints the HAProxy configuration of `scripts/up
# --edges N`: one frontend on HOST:PORT, round robin over the edges on 127.0.0.1, no sticky
# sessions (a client resumes its streams on any edge). Sourced, not run.
keel_haproxy_config() {
  local host=$1 port=$2
  shift 2
  cat <<CFG
global
  # Two descriptors per proxied connection: within the default open-file limit.
  maxconn 4000

defaults
  mode http
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  # WebSockets and event streams stay open as long as their client wants.
  timeout tunnel 1h
  timeout http-request 10s
  timeout http-keep-alive 10s
  timeout queue 10s
  # An edge that is down or stopping is left for another: a refused connection, or a kept-alive
  # connection the edge closed just as a request went out, is retried on another edge.
  option redispatch 1
  retries 3
  retry-on conn-failure empty-response response-timeout

frontend keel
  bind $host:$port
  option forwardfor
  default_backend edges

backend edges
  balance roundrobin
  # Only what is safe to send twice is retried once it reached an edge (a command started by a
  # POST must not run twice); a connection that never opened is always retried.
  http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_OPTIONS || METH_PUT || METH_DELETE
  # A stopping edge answers 503 on /readyz while it finishes (KEEL_STOP_DRAIN_MS): taken out at once.
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter 500ms fall 1 rise 2
  # Which edge answered: for logs and for following a stream across a restart.
  http-response set-header x-keel-edge %[srv_name]
CFG
  local i=1 p
  for p in "$@"; do
    echo "  server edge$i 127.0.0.1:$p"
    i=$((i + 1))
  done
}
