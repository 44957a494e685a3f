#!/usr/bin/env bash
# Packages every library crate as `cargo publish` would, in one go so that crates that
# depend on each other resolve against the packages just made, and builds each one from
# its packaged sources alone (cargo package's verify step). Part of the README's test
# command: a crate that could not be published fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
# Cargo unpacks the packages it verifies into ~/.cargo/registry/src/-<hash of the temporary
# registry's path>/, and reuses what it finds there: a run from the same checkout path
# would verify against the crates of the run before (stale sources, with errors that are
# not there). Our crates' unpacked copies from earlier runs are removed first.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/session-*-[0-9]*
cargo package --locked --allow-dirty --all-features \
  -p session-core -p session-conformance -p session-memory \
  -p session-redis -p session-sql -p session-tower
