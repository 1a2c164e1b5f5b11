# keel_supervise NAME COMMAND [ARG...]: runs COMMAND, and runs it again when it exits
# unexpectedly, waiting 1 s after a quick exit, doubling up to 30 s, back to 1 s once it
# stayed up a minute. It is not restarted after an exit that would only repeat itself or
# that was asked for:
#   0   stopped on request (SIGINT/SIGTERM)
#   77  revoked: an admin cut this runner off
#   78  it cannot run here at all (no sandbox, bad settings, a refused registration)
# A SIGTERM to the supervising shell stops COMMAND and ends the loop. Meant to run in the
# background: `keel_supervise runner node runners/bin/keel-runner.mjs &`. Sourced, not run.
# KEEL_SUPERVISE_MAX_DELAY and KEEL_SUPERVISE_STABLE_SECONDS change the timings.
# KEEL_SUPERVISE_PID_FILE: where COMMAND's current pid is written (to signal it alone).
# KEEL_SUPERVISE_RESTART_STOPPED=1: exit 0 restarts it too, at once (an edge stopped by its own
# SIGTERM in a rolling restart comes back); only a SIGTERM to the shell ends the loop.

KEEL_EXIT_REVOKED=77
KEEL_EXIT_CANNOT_RUN=78

keel_supervise() {
  local name=$1
  shift
  local max_delay=${KEEL_SUPERVISE_MAX_DELAY:-30} stable=${KEEL_SUPERVISE_STABLE_SECONDS:-60}
  local delay=1 started code child="" stopping=0
  # The trap is the shell's only way to hear SIGTERM while it waits on a child.
  trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM
  while :; do
    started=$SECONDS
    "$@" &
    child=$!
    if [ -n "${KEEL_SUPERVISE_PID_FILE:-}" ]; then echo "$child" >"$KEEL_SUPERVISE_PID_FILE"; fi
    code=0
    wait "$child" || code=$?
    # A trapped signal interrupts `wait`; the child's own status comes with the next one.
    while [ "$stopping" -eq 1 ] && kill -0 "$child" 2>/dev/null; do
      code=0
      wait "$child" || code=$?
    done
    child=""
    if [ "$stopping" -eq 1 ]; then return 0; fi
    if [ "$code" -eq 0 ] && [ "${KEEL_SUPERVISE_RESTART_STOPPED:-}" = 1 ]; then
      keel_say "$name stopped; starting it again"
      continue
    fi
    case $code in
      0) keel_say "$name stopped"; return 0 ;;
      "$KEEL_EXIT_REVOKED") keel_say "$name was revoked: not restarting it"; return "$code" ;;
      "$KEEL_EXIT_CANNOT_RUN") keel_say "$name cannot run here (see above): not restarting it"; return "$code" ;;
    esac
    if [ $((SECONDS - started)) -ge "$stable" ]; then delay=1; fi
    keel_say "$name exited ($code); restarting it in ${delay}s"
    sleep "$delay" &
    child=$!
    wait "$child" || true
    child=""
    if [ "$stopping" -eq 1 ]; then return 0; fi
    delay=$((delay * 2 > max_delay ? max_delay : delay * 2))
  done
}
