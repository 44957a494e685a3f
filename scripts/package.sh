#!/usr/bin/env bash
# Packages every library crate as `cargo publish` would, in one go so that crates that
# depend on each other resolve against the packages just made, and builds each one from
# its packaged sources alone (cargo package's verify step). Part of the README's test
# command: a crate that could not be published fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo package --locked --allow-dirty --all-features \
  -p session-core -p session-conformance -p session-memory \
  -p session-redis -p session-sql -p session-tower
