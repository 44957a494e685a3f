# Sourced by scripts/test.sh: finds or starts the services the tests need.
# Every function is idempotent; servers this script starts are stopped on exit.

STARTED_PIDS=()
STOP_COMMANDS=()
EXTRA_DIRS=()
WORK_DIR="$(mktemp -d -t session-tests.XXXXXX)"
cleanup_services() {
  for cmd in "${STOP_COMMANDS[@]:-}"; do [ -n "$cmd" ] && eval "$cmd" >/dev/null 2>&1 || true; done
  for pid in "${STARTED_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  # Wait for them to exit before removing their directories: a Redis node that is shutting
  # down still writes its nodes.conf, and an rm racing it fails with "Directory not empty"
  # (which, as the exit trap's status, failed a run whose tests had all passed).
  for pid in "${STARTED_PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK_DIR" 2>/dev/null || rm -rf "$WORK_DIR" 2>/dev/null || true
  for d in "${EXTRA_DIRS[@]:-}"; do [ -n "$d" ] && rm -rf "$d" 2>/dev/null || true; done
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

# The TLS tests' certificates (scripts/tls-certs.sh): ca.pem signs the servers' and the
# client's certificates; other-ca.pem signs nothing a server shows.
ensure_tls_certs() {
  if [ -z "${SESSION_TLS_DIR:-}" ]; then
    command -v openssl >/dev/null || apt_install openssl
    SESSION_TLS_DIR="$WORK_DIR/tls"
    ./scripts/tls-certs.sh "$SESSION_TLS_DIR"
    chmod 755 "$WORK_DIR" "$SESSION_TLS_DIR"
    export SESSION_TLS_DIR
  fi
  echo "SESSION_TLS_DIR=$SESSION_TLS_DIR"
}

# A Redis that speaks only TLS and requires a client certificate. It also listens on
# 127.0.0.2, a name its certificate does not carry (the host-name check's test).
ensure_redis_tls() {
  if [ -z "${REDIS_TLS_URL:-}" ]; then
    local port dir t="$SESSION_TLS_DIR"
    port=$(free_port); dir="$WORK_DIR/redis-tls"; mkdir -p "$dir"
    redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 127.0.0.2 \
      --tls-cert-file "$t/server.pem" --tls-key-file "$t/server-key.pem" \
      --tls-ca-cert-file "$t/ca.pem" --tls-auth-clients yes \
      --save "" --appendonly no --dir "$dir" --logfile "$dir/log" &
    STARTED_PIDS+=("$!")
    wait_port "$port"
    export REDIS_TLS_URL="rediss://127.0.0.1:$port"
  fi
  echo "REDIS_TLS_URL=$REDIS_TLS_URL"
}

# A three-master Redis Cluster on TLS only (the cluster bus too), client certificates required.
ensure_redis_tls_cluster() {
  if [ -n "${REDIS_TLS_CLUSTER_URLS:-}" ]; then echo "REDIS_TLS_CLUSTER_URLS=$REDIS_TLS_CLUSTER_URLS"; return; fi
  local urls=() nodes=() t="$SESSION_TLS_DIR"
  local cli=(redis-cli --tls --cacert "$t/ca.pem" --cert "$t/client.pem" --key "$t/client-key.pem")
  for i in 1 2 3; do
    local port dir
    port=$(free_cluster_port)
    dir="$WORK_DIR/tls-cluster-$port"; mkdir -p "$dir"
    redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 --tls-cluster yes \
      --tls-cert-file "$t/server.pem" --tls-key-file "$t/server-key.pem" \
      --tls-ca-cert-file "$t/ca.pem" --tls-auth-clients yes \
      --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no --dir "$dir" --logfile "$dir/log" &
    STARTED_PIDS+=("$!")
    wait_port "$port"
    urls+=("rediss://127.0.0.1:$port"); nodes+=("127.0.0.1:$port")
  done
  "${cli[@]}" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 100); do
    "${cli[@]}" -p "${nodes[0]##*:}" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1
  done
  REDIS_TLS_CLUSTER_URLS="$(IFS=,; echo "${urls[*]}")"
  export REDIS_TLS_CLUSTER_URLS
  echo "REDIS_TLS_CLUSTER_URLS=$REDIS_TLS_CLUSTER_URLS"
}

# A PostgreSQL of its own that takes only TLS connections with a client certificate its
# CA signed (pg_hba: hostssl ... clientcert=verify-ca, and no plain host line), on
# 127.0.0.1 and on 127.0.0.2, a name its certificate does not carry.
ensure_postgres_tls() {
  if [ -z "${DATABASE_URL_POSTGRES_TLS:-}" ]; then
    local ver bin dir port
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n1); bin="/usr/lib/postgresql/$ver/bin"
    dir=$(mktemp -d -t session-pgtls.XXXXXX); EXTRA_DIRS+=("$dir")
    chown postgres "$dir"
    su postgres -c "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
    cp "$SESSION_TLS_DIR/server.pem" "$SESSION_TLS_DIR/server-key.pem" "$SESSION_TLS_DIR/ca.pem" "$dir/data/"
    chown postgres "$dir/data/"*.pem; chmod 600 "$dir/data/server-key.pem"
    printf 'local all all trust\nhostssl all all 127.0.0.0/8 trust clientcert=verify-ca\n' > "$dir/data/pg_hba.conf"
    port=$(free_port)
    su postgres -c "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1,127.0.0.2 -c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server-key.pem -c ssl_ca_file=ca.pem -c fsync=off' start" >/dev/null
    STOP_COMMANDS+=("su postgres -c '$bin/pg_ctl -D $dir/data -m immediate stop'")
    su postgres -c "$bin/createdb -h $dir -p $port test"
    export DATABASE_URL_POSTGRES_TLS="postgres://postgres@127.0.0.1:$port/test"
  fi
  echo "DATABASE_URL_POSTGRES_TLS=$DATABASE_URL_POSTGRES_TLS"
}

# A MariaDB of its own that requires TLS, and a client certificate of root over TCP.
ensure_mysql_tls() {
  if [ -z "${DATABASE_URL_MYSQL_TLS:-}" ]; then
    local dir port t="$SESSION_TLS_DIR"
    dir=$(mktemp -d -t session-mytls.XXXXXX); EXTRA_DIRS+=("$dir")
    cp "$t/server.pem" "$t/server-key.pem" "$t/ca.pem" "$dir/"
    chown -R mysql "$dir"
    mariadb-install-db --user=mysql --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db >/dev/null 2>&1
    port=$(free_port)
    mariadbd --no-defaults --user=mysql --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
      --socket="$dir/sock" --pid-file="$dir/pid" --skip-name-resolve \
      --ssl-cert="$dir/server.pem" --ssl-key="$dir/server-key.pem" --ssl-ca="$dir/ca.pem" \
      --require-secure-transport=ON --innodb-buffer-pool-size=32M --log-error="$dir/log" &
    STARTED_PIDS+=("$!")
    wait_port "$port"
    mariadb --no-defaults -S "$dir/sock" -uroot -e "CREATE DATABASE IF NOT EXISTS test;
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
      ALTER USER 'root'@'127.0.0.1' REQUIRE X509;
      GRANT ALL ON *.* TO 'root'@'127.0.0.1';"
    export DATABASE_URL_MYSQL_TLS="mysql://root@127.0.0.1:$port/test"
  fi
  echo "DATABASE_URL_MYSQL_TLS=$DATABASE_URL_MYSQL_TLS"
}

start_services() {
  ensure_redis
  ensure_redis_cluster
  ensure_postgres
  ensure_mysql
  ensure_tls_certs
  ensure_redis_tls
  ensure_redis_tls_cluster
  ensure_postgres_tls
  ensure_mysql_tls
  ensure_chromium
}
