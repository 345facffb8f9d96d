#!/bin/sh
# Sets up a P2P Prolog deployment in this folder, on a fresh clone or again later (safe to rerun):
#   1. checks for Node.js (20.19 or newer) and npm, and installs the dependencies (npm ci) if
#      node_modules is missing;
#   2. writes .identity.json (the deployment's secret, mode 0600; kept if it exists, replaced only
#      with --force, which changes every peer id) and .peers.json (public: where the signaller is)
#      for DOMAIN;
#   3. writes .env, which docker-compose reads: DOMAIN, and the TLS settings when given;
#   4. builds the web page into srv/www, with the public part of the identity (the network's
#      name) and the signallers; never the secret;
#   5. bundles the signaller and the node peer into dist/ (what their Docker image runs).
# Then: docker-compose -f docker-compose-signaller.yml up -d, and -f docker-compose-client.yml.
#
# Usage: [DOMAIN=example.org] [CERT_DIR=... CERT_FILE=... KEY_FILE=...] [NODE_NAME=...] sh bootstrap.sh [--force]
#   DOMAIN     the name by which browsers and node peers reach the signaller (default: the one in
#              .env from an earlier run; else a .peers.json copied from another host is kept;
#              else localhost)
#   CERT_FILE, KEY_FILE   a certificate for DOMAIN, as paths inside the signaller's container
#              (CERT_DIR is mounted at /certs): the signaller speaks wss, and .peers.json says so
#              (TLS=1 says so without the files, for a client host)
#   NODE_NAME  this host's node peer name, into .env (one name per host)
#   --force    replace an existing .identity.json (every peer id changes: copy it to every host again)
# docs/deployment.md has the whole story.
set -eu
cd "$(dirname "$0")"

force=
for arg in "$@"; do
  case "$arg" in
    --force) force=--force ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bootstrap: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

say () { printf 'bootstrap: %s\n' "$*"; }
fail () { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

# 1. What it needs, all said in one line.
missing=
if command -v node >/dev/null 2>&1; then
  # package.json's engines: the programs need Node 20.19 or newer.
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    || missing="$missing Node.js 20.19 or newer (this is $(node --version));"
else
  missing="$missing Node.js 20.19 or newer (node);"
fi
command -v npm >/dev/null 2>&1 || missing="$missing npm;"
[ -z "$missing" ] || fail "missing:$missing install them (e.g. from your distribution or nodejs.org), then run sh bootstrap.sh again"

if [ ! -d node_modules ]; then
  say "installing the dependencies (npm ci)…"
  npm ci --no-audit --no-fund || fail "npm ci failed: see above (is the npm registry reachable?)"
fi

# 2. The identity and the peers file. DOMAIN and CERT_FILE come from the environment, else from
# the .env of an earlier run. Without either, a .peers.json copied from another host is kept.
env_value () { if [ -f .env ]; then sed -n "s/^$1=//p" .env | tail -n 1; fi; }
domain=${DOMAIN:-$(env_value DOMAIN)}
cert_file=${CERT_FILE:-$(env_value CERT_FILE)}
tls=
if [ -n "$cert_file" ] || [ "${TLS:-}" = 1 ]; then tls=--tls; fi
if [ -z "$domain" ] && [ -f .peers.json ] && [ -z "$force" ]; then
  say "identity; keeping .peers.json (no DOMAIN given: set it to write one for a domain)"
  derived=$(mktemp)
  out=$(npm run --silent identity -- --peers "$derived") || { rm -f "$derived"; fail "npm run identity failed: see above"; }
  printf '%s\n' "$out" | grep -v "$derived" || true
  # The signaller's peer id follows from the identity: a peers file from another deployment would not name it.
  signaller_id=$(sed -n 's|.*/p2p/\([^"]*\)".*|\1|p' "$derived" | head -n 1)
  rm -f "$derived"
  grep -q "/p2p/$signaller_id\"" .peers.json \
    || say "warning: .peers.json does not name this identity's signaller ($signaller_id): copy .identity.json and .peers.json from the same host, or set DOMAIN to write .peers.json anew"
else
  domain=${domain:-localhost}
  say "identity and peers file for ${domain}${tls:+ (wss)}"
  npm run --silent identity -- --domain "$domain" $tls $force
fi
chmod 600 .identity.json

# 3. .env for docker-compose: set the keys given, keep every other line.
set_env () {
  if [ -f .env ] && grep -q "^$1=" .env; then
    grep -v "^$1=" .env >.env.tmp || true
    printf '%s=%s\n' "$1" "$2" >>.env.tmp
    mv .env.tmp .env
  else
    printf '%s=%s\n' "$1" "$2" >>.env
  fi
}
[ -z "$domain" ] || set_env DOMAIN "$domain"
for name in CERT_DIR CERT_FILE KEY_FILE NODE_NAME; do
  eval "value=\${$name:-}"
  [ -z "$value" ] || set_env "$name" "$value"
done
# The two compose files share one project (this folder's name): each one's containers are not
# leftovers of the other, so compose need not warn about "orphans".
set_env COMPOSE_IGNORE_ORPHANS true
say "wrote .env (settings for docker-compose): $(tr '\n' ' ' <.env)"
# The signaller's certificate folder (mounted even without TLS; docker would make it as root).
mkdir -p certs

# 4. The web page.
say "building the web page into srv/www (npm run build:www)…"
npm run --silent build:www || fail "the web page did not build: see above"

# 5. The signaller and the node peer, bundled.
say "bundling the signaller and the node peer into dist (npm run build:node)…"
npm run --silent build:node || fail "the signaller and the node peer did not build: see above"
say "done. Next, everything on this machine without Docker: npm start"
say "      or with Docker: docker-compose -f docker-compose-signaller.yml up -d   (on the signaller's host)"
say "      then: docker-compose -f docker-compose-client.yml up -d      (where the node peer and the page run)"
