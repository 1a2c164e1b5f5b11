# node-pty (the runner's terminals) is a native addon with no prebuilt binary for Linux: npm builds it
# at install time when a C++ toolchain is there, and leaves it unbuilt otherwise. Sourced, not run.

keel_ensure_node_pty() {
  local root; root=$(keel_root)
  (cd "$root" && node -e "require('node-pty')" >/dev/null 2>&1) && return 0
  keel_say "building node-pty's native addon (the terminal needs it)"
  if ! { command -v python3 && command -v make && command -v g++; } >/dev/null 2>&1; then
    keel_apt_install python3 make g++ || keel_die \
      "node-pty needs python3, make and g++ to build; install them (apt-get install python3 make g++) and run this again."
  fi
  # npm ships node-gyp; it is not on PATH by itself.
  local gyp
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$gyp" ] || keel_die "node-gyp (part of npm) was not found at $gyp"
  # Node's own headers when they are installed beside it (distribution packages, official tarballs):
  # then nothing is downloaded. Otherwise node-gyp fetches the headers for this Node version.
  local nodedir="${npm_config_nodedir:-}"
  if [ -z "$nodedir" ]; then
    local prefix; prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
    [ -f "$prefix/include/node/node.h" ] && nodedir="$prefix"
  fi
  local log="$root/.tmp/node-pty-build.log"
  mkdir -p "$root/.tmp"
  (cd "$root" && node "$gyp" rebuild --directory node_modules/node-pty ${nodedir:+--nodedir="$nodedir"}) >"$log" 2>&1 \
    || keel_die "building node-pty failed; see $log"
  (cd "$root" && node -e "require('node-pty')") || keel_die "node-pty still does not load after building it; see $log"
}
