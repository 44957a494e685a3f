# Sourced by scripts/test.sh: finds or starts the services the tests need.
# Every function is idempotent; servers this script starts are stopped on exit.

STARTED_PIDS=()
WORK_DIR="$(mktemp -d -t session-tests.XXXXXX)"
cleanup_services() {
  for pid in "${STARTED_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  # Wait for them to exit before removing their directories: a Redis node that is shutting
  # down still writes its nodes.conf, and an rm racing it fails with "Directory not empty"
  # (which, as the exit trap's status, failed a run whose tests had all passed).
  for pid in "${STARTED_PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK_DIR" 2>/dev/null || rm -rf "$WORK_DIR" 2>/dev/null || true
}
trap cleanup_services EXIT

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# A Redis Cluster node also listens on its port + 10000 (the cluster bus): both must be free,
# and both below the ephemeral range (32768 and up on Linux), where an outgoing connection
# could take the bus port between our check and the node's bind.
free_cluster_port() {
  python3 - <<'PY'
import random, socket
for _ in range(1000):
    p = random.randint(12000, 22000)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
PY
}

wait_port() {
  for _ in $(seq 200); do port_open "$1" && return 0; sleep 0.1; done
  echo "service on port $1 did not come up" >&2; return 1
}

ensure_rust_tools() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup)" >&2; exit 1; }
  rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy || true
  # libfuzzer-sys compiles libFuzzer's C++ sources (the fuzz smoke and --all-features builds).
  command -v c++ >/dev/null || apt_install g++
}

ensure_redis() {
  if [ -z "${REDIS_URL:-}" ]; then
    command -v redis-server >/dev/null || apt_install redis-server redis-tools
    if ! port_open 6379; then
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp --logfile "$WORK_DIR/redis-6379.log"
      wait_port 6379
    fi
    export REDIS_URL="redis://127.0.0.1:6379"
  fi
  echo "REDIS_URL=$REDIS_URL"
}

ensure_redis_cluster() {
  if [ -n "${REDIS_CLUSTER_URLS:-}" ]; then echo "REDIS_CLUSTER_URLS=$REDIS_CLUSTER_URLS"; return; fi
  command -v redis-cli >/dev/null || apt_install redis-server redis-tools
  local urls=() nodes=()
  for i in 1 2 3; do
    local port dir
    port=$(free_cluster_port)
    dir="$WORK_DIR/cluster-$port"; mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no --dir "$dir" --logfile "$dir/log" &
    STARTED_PIDS+=("$!")
    wait_port "$port"
    urls+=("redis://127.0.0.1:$port"); nodes+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 100); do
    redis-cli -p "${nodes[0]##*:}" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1
  done
  REDIS_CLUSTER_URLS="$(IFS=,; echo "${urls[*]}")"
  export REDIS_CLUSTER_URLS
  echo "REDIS_CLUSTER_URLS=$REDIS_CLUSTER_URLS"
}

ensure_postgres() {
  if [ -z "${DATABASE_URL_POSTGRES:-}" ]; then
    if ! port_open 5432; then
      command -v pg_ctlcluster >/dev/null || apt_install postgresql
      local ver; ver=$(ls /etc/postgresql | head -n1)
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
      wait_port 5432
      # Trust auth on loopback and a `test` database, as on our machines.
      local hba="/etc/postgresql/$ver/main/pg_hba.conf"
      if ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
        sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
      fi
    fi
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" 2>/dev/null | grep -q 1 \
      || su postgres -c "createdb test" 2>/dev/null || true
    export DATABASE_URL_POSTGRES="postgres://postgres@127.0.0.1:5432/test"
  fi
  echo "DATABASE_URL_POSTGRES=$DATABASE_URL_POSTGRES"
}

ensure_mysql() {
  if [ -z "${DATABASE_URL_MYSQL:-}" ]; then
    if ! port_open 3306; then
      command -v mariadbd >/dev/null || apt_install mariadb-server
      mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
      wait_port 3306
    fi
    mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test" 2>/dev/null || true
    export DATABASE_URL_MYSQL="mysql://root@127.0.0.1:3306/test"
  fi
  echo "DATABASE_URL_MYSQL=$DATABASE_URL_MYSQL"
}

ensure_chromium() {
  if [ -z "${CHROMEDRIVER:-}" ] && ! command -v chromedriver >/dev/null; then
    apt_install chromium chromium-driver
  fi
  echo "chromedriver: ${CHROMEDRIVER:-$(command -v chromedriver)}"
}

start_services() {
  ensure_redis
  ensure_redis_cluster
  ensure_postgres
  ensure_mysql
  ensure_chromium
}
