#!/bin/sh
# npm run test:compose: the Docker deployment end to end, with a real Docker engine, as root.
#
#   1. installs Docker (Debian's docker.io and docker-compose), debootstrap and tcpdump if missing;
#   2. starts dockerd if none answers (it stays up afterwards), and builds the base image with
#      ../shared/tools/stand-in-node-image.sh when node:24-bookworm-slim is not there (no image can
#      be pulled on these machines);
#   3. copies this working tree as a clean checkout (tracked and untracked files, not the ignored
#      ones: no node_modules, no identity) and runs `sh bootstrap.sh` in it;
#   4. builds the images with both compose files on that dockerd (npm ci inside needs the registry);
#   5. starts a second, private dockerd inside a private network namespace (only lo, multicast
#      routed to it) and loads the images into it: containers with network_mode: host share that
#      namespace, so no multicast datagram of the test can leave the machine;
#   6. runs test/compose/compose.e2e.ts inside that namespace: it brings both compose files up,
#      and drives stock swipl, headless Chromium and the decoder against them;
#   7. always, pass or fail: both compose files down (volumes too), the private dockerd stopped,
#      the checkout removed (KEEP_CHECKOUT=1 keeps it).
# Environment: COMPOSE="docker compose" to test compose v2 (default: docker-compose if present).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
started_at=$(date +%s)
say () { printf '[compose-test %4ss] %s\n' "$(($(date +%s) - started_at))" "$*"; }
fail () { say "FAILED: $*" >&2; exit 1; }
# run_logged LOG COMMAND...: runs quietly into LOG; on failure shows its end.
run_logged () {
  log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    return 1
  fi
}

[ "$(id -u)" = 0 ] || fail "run as root: it starts dockerd, and a network namespace for the test (sudo npm run test:compose)"

# Where the private engine keeps its state; its images stay between runs, so a rerun loads only what changed.
state=/run/p2p-prolog-compose-test
data_root=/var/lib/p2p-prolog-compose-test
socket=unix://$state/docker.sock
work=
netns_dockerd=

phase_started=$(date +%s)
phase () { say "$* (previous phase: $(($(date +%s) - phase_started)) s)"; phase_started=$(date +%s); }

# dockerd bind-mounts its network namespace under its exec root and leaves it there when it
# stops: unmounted, the namespace (its lo, its bridges) goes away with its last process.
release_netns () {
  if grep -q " $state/exec/netns/default " /proc/mounts; then umount "$state/exec/netns/default" || true; fi
}

teardown () {
  code=$?
  trap - EXIT INT TERM
  if [ -n "$netns_dockerd" ] && kill -0 "$netns_dockerd" 2>/dev/null; then
    say "teardown: compose down (both files, with volumes), then the private dockerd"
    for file in docker-compose-client.yml docker-compose-signaller.yml; do
      if [ -n "$work" ] && [ -f "$work/p2p-prolog/$file" ]; then
        (cd "$work/p2p-prolog" && DOCKER_HOST=$socket nsenter -t "$netns_dockerd" -n $compose -f "$file" down -v --timeout 10 >>"$work/down.log" 2>&1) || say "teardown: $file down failed: see $work/down.log"
      fi
    done
    say "teardown: stopping the private dockerd"
    kill "$netns_dockerd"
    i=0
    while kill -0 "$netns_dockerd" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
    release_netns
  fi
  if [ -n "$work" ]; then
    if [ "${KEEP_CHECKOUT:-}" = 1 ]; then
      say "kept the checkout in $work/p2p-prolog (umount $work, then rmdir it, when done)"
    else
      say "teardown: removing the checkout"
      if grep -q " $work tmpfs " /proc/mounts; then umount "$work"; fi
      rm -rf "$work"
    fi
  fi
  if [ "$code" = 0 ]; then say "passed; dockerd (the build engine) is still running"; else say "failed (exit code $code)"; fi
  exit "$code"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# 1. Tools.
packages=
command -v dockerd >/dev/null 2>&1 || packages="$packages docker.io"
command -v docker-compose >/dev/null 2>&1 || packages="$packages docker-compose"
command -v debootstrap >/dev/null 2>&1 || packages="$packages debootstrap"
command -v tcpdump >/dev/null 2>&1 || packages="$packages tcpdump"
for tool in swipl:swi-prolog-nox chromium:chromium nsenter:util-linux ip:iproute2 git:git; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || packages="$packages ${tool#*:}"
done
if [ -n "$packages" ]; then
  phase "installing$packages"
  export DEBIAN_FRONTEND=noninteractive
  run_logged /tmp/p2p-prolog-compose-apt.log sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages" \
    || fail "apt-get install$packages failed: see above"
fi
if [ -n "${COMPOSE:-}" ]; then
  compose=$COMPOSE
elif command -v docker-compose >/dev/null 2>&1; then
  compose=docker-compose
else
  compose="docker compose"
fi
$compose version >/dev/null 2>&1 || fail "$compose does not run: apt-get install docker-compose, or set COMPOSE"

# 2. The build engine and the base image.
if ! docker info >/dev/null 2>&1; then
  phase "starting dockerd (log: /var/log/dockerd.log; it stays up)"
  setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null &
  i=0
  until docker info >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 120 ] || fail "dockerd did not start in 60 s: see /var/log/dockerd.log"
    sleep 0.5
  done
fi
base=node:24-bookworm-slim
if ! docker image inspect "$base" >/dev/null 2>&1; then
  stand_in=${STAND_IN_NODE_IMAGE:-$repo/../shared/tools/stand-in-node-image.sh}
  [ -f "$stand_in" ] || fail "no $base image and no $stand_in to build one: docker pull $base where a registry is reachable, or set STAND_IN_NODE_IMAGE"
  phase "building the base image $base with $stand_in (2-4 minutes the first time)"
  run_logged /tmp/p2p-prolog-compose-stand-in.log sh "$stand_in" || fail "the stand-in base image did not build: see above"
fi

# 3. A clean checkout, and bootstrap.
phase "copying the working tree to a clean checkout"
work=$(mktemp -d /tmp/p2p-prolog-compose.XXXXXX)
# In memory: npm ci writes some 900 packages there, and removing them from disk takes a minute.
mount -t tmpfs -o size=4g,mode=0700 p2p-prolog-compose "$work" 2>/dev/null || say "(the checkout is on disk: no tmpfs could be mounted)"
checkout=$work/p2p-prolog # the compose project is named after this folder
mkdir -p "$checkout"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' copy \
  | tar --null -T - -cf -) | tar -xf - -C "$checkout"
phase "sh bootstrap.sh in $checkout (npm ci, identity, web page, dist; log: $work/bootstrap.log)"
(cd "$checkout" && run_logged "$work/bootstrap.log" sh bootstrap.sh) || fail "bootstrap.sh failed: see above"
grep '^bootstrap:' "$work/bootstrap.log" | sed 's/^/    /'

# 4. The images.
for file in docker-compose-signaller.yml docker-compose-client.yml; do
  phase "$compose -f $file build (log: $work/build-$file.log)"
  (cd "$checkout" && run_logged "$work/build-$file.log" $compose -f "$file" build) || fail "$file build failed: see above"
done

# 5. The private engine, in a network namespace of its own.
mkdir -p "$state" "$data_root"
if [ -f "$state/dockerd.pid" ] && kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null; then
  fail "a private dockerd of an earlier run is still up (pid $(cat "$state/dockerd.pid")): kill it, then run again"
fi
release_netns
phase "starting a private dockerd in a private network namespace (log: $work/dockerd.log)"
setsid unshare -n sh -c '
  ip link set lo up && ip route add 224.0.0.0/4 dev lo &&
  exec dockerd --data-root "$1" --exec-root "$2/exec" --pidfile "$2/dockerd.pid" -H "$3"' \
  netns "$data_root" "$state" "$socket" >"$work/dockerd.log" 2>&1 </dev/null &
launcher=$!
i=0
until DOCKER_HOST=$socket docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ -f "$state/dockerd.pid" ]; then netns_dockerd=$(cat "$state/dockerd.pid"); fi
  kill -0 "${netns_dockerd:-$launcher}" 2>/dev/null || { tail -20 "$work/dockerd.log" >&2; fail "the private dockerd exited: see above"; }
  [ $i -lt 120 ] || fail "the private dockerd did not start in 60 s: see $work/dockerd.log"
  sleep 0.5
done
# The daemon's own pid: what nsenter enters, and what the teardown stops.
netns_dockerd=$(cat "$state/dockerd.pid")
route=$(nsenter -t "$netns_dockerd" -n ip route get 239.0.0.2)
case "$route" in
  *"dev lo"*) ;;
  *) fail "in the test's namespace 239.0.0.2 is not routed to lo ($route): stopping before anything is sent" ;;
esac
images="p2p-prolog-app:latest p2p-prolog-www:latest"
stale=
for image in $images; do
  [ "$(docker image inspect -f '{{.Id}}' "$image")" = "$(DOCKER_HOST=$socket docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)" ] || stale="$stale $image"
done
if [ -n "$stale" ]; then
  phase "loading$stale into the private dockerd"
  docker save $stale | DOCKER_HOST=$socket docker load >"$work/load.log" || fail "docker save | docker load failed"
  DOCKER_HOST=$socket docker image prune -f >/dev/null 2>&1 || true
fi

# 6. The test, inside the namespace (swipl, Chromium and the containers see the same lo).
phase "running test/compose/compose.e2e.ts in the private network namespace"
cd "$repo"
nsenter -t "$netns_dockerd" -n env P2P_PROLOG_NETNS=1 DOCKER_HOST="$socket" COMPOSE="$compose" COMPOSE_TEST_DIR="$checkout" \
  "$repo/node_modules/.bin/vitest" run --config test/compose/vitest.config.ts
phase "the test passed"
