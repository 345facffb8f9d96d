#!/bin/sh
# The entrypoint of the P2P Prolog images: `signaller`, `node-peer` or `www`, then their options.
#
# Why it starts as root: the deployment secret (.identity.json) and a TLS private key are
# mounted read-only from the host, where they are mode 0600 and owned by whoever ran bootstrap
# (root on most servers). The program runs as the unprivileged user p2p, which cannot read them.
# So, as root, this copies each secret into /run/p2p (the compose files mount a tmpfs there, so
# the copy never touches a disk) owned by p2p and readable by p2p only, points the program's variable at the copy, makes the
# data directory p2p's, and then drops root for good with setpriv (util-linux): no capabilities
# kept, no way back (no_new_privs), and the program is PID 1's exec, so it gets docker's signals.
# Started as another user (`user:` in compose), it skips the copying: the files must be readable.
set -eu

APP_USER=p2p
SECRETS_DIR=/run/p2p

case "${1:-}" in
  signaller | node-peer | www) ;;
  *) exec "$@" ;; # anything else (sh, node -e ...) runs as given, for debugging
esac

# Compose passes unset settings as empty strings; the programs read an empty CERT_FILE as a file name.
for name in CERT_FILE KEY_FILE; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || unset "$name"
done

# copy_secret VARIABLE NAME: copies the file named by $VARIABLE into the tmpfs, for p2p only.
copy_secret () {
  eval "source_file=\${$1:-}"
  [ -n "$source_file" ] || return 0
  if [ ! -r "$source_file" ]; then
    echo "p2p-entrypoint: $1=$source_file is missing: mount it (see docs/deployment.md; sh bootstrap.sh writes .identity.json)" >&2
    exit 1
  fi
  install -m 0400 -o "$APP_USER" -g "$APP_USER" "$source_file" "$SECRETS_DIR/$2"
  export "$1=$SECRETS_DIR/$2"
}

if [ "$(id -u)" = 0 ]; then
  if [ -n "${IDENTITY_FILE:-}${KEY_FILE:-}" ]; then
    mkdir -p "$SECRETS_DIR"
    chown "$APP_USER:$APP_USER" "$SECRETS_DIR"
    chmod 0700 "$SECRETS_DIR"
    copy_secret IDENTITY_FILE identity.json
    copy_secret KEY_FILE tls-key.pem
  fi
  if [ -n "${DATA_DIR:-}" ]; then
    mkdir -p "$DATA_DIR"
    # Only the top: a volume made by an older image, or a host folder, keeps its contents' owners.
    chown "$APP_USER:$APP_USER" "$DATA_DIR"
  fi
  export HOME=/tmp
  exec setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups \
    --inh-caps=-all --bounding-set=-all --no-new-privs -- /bin/sh "$0" "$@"
fi

program=$1
shift
case "$program" in
  signaller) exec node dist/signaller/main.js "$@" ;;
  node-peer) exec node dist/node-peer/main.js "$@" ;;
  www) exec node scripts/www-server.ts "$@" ;;
esac
