# Shared by scripts/up, scripts/test and scripts/migrate: find or install what Keel needs.
# Sourced, not run.

keel_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

keel_say() { printf '\033[1mkeel\033[0m %s\n' "$*" >&2; }
keel_die() { printf '\033[1;31mkeel\033[0m %s\n' "$*" >&2; exit 1; }

# shellcheck source=node-pty.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-pty.sh"

keel_require_node() {
  command -v node >/dev/null 2>&1 || keel_die "Node.js 20 or newer is required (https://nodejs.org, or your OS packages)."
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || keel_die "Node.js 20 or newer is required; found $(node --version)."
}

# Installs npm dependencies, exactly as the lock file says (`npm ci`: it never rewrites the
# lock), when node_modules is missing or older than the lock file. The lock lists every
# platform's optional packages, so `npm ci` takes it on any platform.
keel_ensure_node_deps() {
  keel_require_node
  local root; root=$(keel_root)
  if [ ! -f "$root/node_modules/.package-lock.json" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    keel_say "installing npm dependencies (npm ci)"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) || keel_die "npm ci failed"
  fi
  keel_ensure_node_pty
}

_keel_apt_updated=0
# keel_apt_install PACKAGE... : installs Debian/Ubuntu packages when apt-get is available.
keel_apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || return 1
    sudo="sudo"
  fi
  if [ "$_keel_apt_updated" -eq 0 ]; then
    $sudo apt-get update -qq >/dev/null || return 1
    _keel_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

keel_brew_install() {
  command -v brew >/dev/null 2>&1 || return 1
  brew install "$@"
}

keel_ensure_redis_server() {
  command -v redis-server >/dev/null 2>&1 && return 0
  keel_say "installing redis-server"
  keel_apt_install redis-server || keel_brew_install redis || keel_die \
    "redis-server is not installed and could not be installed here. Install it (apt-get install redis-server, brew install redis) or set REDIS_URL to an existing Redis."
  command -v redis-server >/dev/null 2>&1 || keel_die "redis-server still not found after installing"
}

keel_postgres_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr); do
    [ -x "$d/postgres" ] && { echo "$d"; return 0; }
  done
  return 1
}

keel_ensure_postgres_server() {
  keel_postgres_bin >/dev/null && return 0
  keel_say "installing postgresql"
  keel_apt_install postgresql || keel_die "PostgreSQL server is not installed and could not be installed (apt-get install postgresql)."
  keel_postgres_bin >/dev/null || keel_die "PostgreSQL server binaries not found after installing"
}

# A free TCP port on loopback, below the kernel's ephemeral range (see scripts/lib/free-port.ts).
keel_free_port() {
  node --import tsx "$(keel_root)/scripts/lib/free-port.ts"
}

# keel_ensure_slapd : Debian's OpenLDAP server and client tools for the directory sign-in tests.
# Preseeded to skip the package's own configuration: the tests start slapd from a config of
# their own on free ports, and no system-wide directory is created or started.
keel_ensure_slapd() {
  [ -x /usr/sbin/slapd ] && [ -x /usr/sbin/slapadd ] && command -v ldapmodify >/dev/null 2>&1 && return 0
  keel_say "installing slapd and ldap-utils"
  if command -v debconf-set-selections >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo 'slapd slapd/no_configuration boolean true' | $sudo debconf-set-selections || true
  fi
  keel_apt_install slapd ldap-utils || return 1
  [ -x /usr/sbin/slapd ]
}
