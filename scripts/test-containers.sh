#!/usr/bin/env bash
# The conformance suite against containers instead of URLs: Redis, PostgreSQL and MySQL
# are each started by testcontainers (once per test binary) because the URL variables are
# unset here. Needs a reachable Docker engine; on a Debian machine as root this script
# installs and starts one when missing.
#
# Machines without a container registry build local images under the names the modules use
# with ../shared/scripts/make-test-images.sh when it is present. On a laptop with registry
# access, nothing is built: Docker pulls the official images.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build settings as scripts/test.sh, so the tests here reuse its build rather than
# building everything a second time (see there for why).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
T0=$(date +%s)

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  (dockerd --ip=127.0.0.1 >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 150); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "Docker engine did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
echo "docker ready after $(( $(date +%s) - T0 ))s"

MAKE_IMAGES=../shared/scripts/make-test-images.sh
if [ -x "$MAKE_IMAGES" ] || [ -f "$MAKE_IMAGES" ]; then
  mirror() { grep -hoE 'https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
             | grep -E "$1" | head -n 1 || true; }
  export DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(mirror '/debian/?$')}"
  export DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-$(mirror '/debian-security/?$')}"
  : "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
  : "${DEBIAN_SECURITY_MIRROR:=http://deb.debian.org/debian-security}"
  bash "$MAKE_IMAGES" | tail -n 2
fi
echo "images ready after $(( $(date +%s) - T0 ))s"

unset REDIS_URL DATABASE_URL_POSTGRES DATABASE_URL_MYSQL
T1=$(date +%s)
cargo test -p session-redis --test conformance standalone -- --test-threads 4
cargo test -p session-sql --features postgres,mysql --test postgres --test mysql
echo "container path: tests took $(( $(date +%s) - T1 ))s, $(( $(date +%s) - T0 ))s in all"
