#!/usr/bin/env bash
# The one command that runs every test of the workspace on a fresh machine.
#
# It finds or starts every service the tests need, exports the URL variables the tests
# read, then runs formatting, lint, doc and test checks. A variable that is already set is
# respected: point it at your own server to test against that instead.
#
#   REDIS_URL              redis://127.0.0.1:6379        (found, or a server started here)
#   REDIS_CLUSTER_URLS     three masters, comma-separated (a cluster started here)
#   DATABASE_URL_POSTGRES  postgres://postgres@127.0.0.1:5432/test
#   DATABASE_URL_MYSQL     mysql://root@127.0.0.1:3306/test
#   SESSION_TLS_DIR        ca.pem, client.pem, client-key.pem, other-ca.pem (scripts/tls-certs.sh)
#   REDIS_TLS_URL          rediss://: a TLS-only Redis requiring a client certificate
#   REDIS_TLS_CLUSTER_URLS the same, as a three-master cluster
#   DATABASE_URL_POSTGRES_TLS  a PostgreSQL taking only TLS with a client certificate
#   DATABASE_URL_MYSQL_TLS     a MariaDB requiring TLS and a client certificate
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

# This run builds the workspace several ways (all features, default features, the packaged
# crates, the fuzz targets, the release benches). With full debug info and incremental
# caches that is tens of GB of target/, and a CI run has died of a full disk; line tables
# (enough for a backtrace) and no incremental cache keep it to a fraction. Set either
# variable yourself to override.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"

ensure_rust_tools
start_services

echo "== fmt";    cargo fmt --all -- --check
echo "== module circles"; python3 scripts/module-cycles.py
echo "== msrv";   python3 scripts/msrv.py --check
echo "== doc examples"; python3 scripts/doc-examples.py
echo "== clippy"; cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== doc";    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features
echo "== test";   cargo test --workspace --all-features
echo "== examples"
cargo run -q -p session-memory --example cart | grep -qx "64 of 64 items kept"
cargo run -q -p session-redis --example devices | grep -q "ada now has 1"
cargo run -q -p session-sql --features sqlite --example sqlite | grep -q 'theme = Some("dark")'
cargo run -q -p session-conformance --example report | grep -q " passed, 0 skipped"
cargo run -q -p session-tower --example keygen | grep -Eqx "[A-Za-z0-9_-]{43}"
cargo build -q -p session-tower --example app
echo "== package"; ./scripts/package.sh
echo "== benches compile"; cargo test -p session-benches --benches --no-run
echo "== session-bench smoke"
cargo run -q -p session-benches --bin session-bench -- --store memory --concurrency 1,4 --duration 0.5s --payload 200 --plot "$(mktemp -d)/smoke.svg"
echo "== fuzz smoke (libFuzzer, coverage-guided, ${FUZZ_SECONDS:-15} s per target)"
./scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
echo "== target/ now holds $(du -sh target 2>/dev/null | cut -f1)"
