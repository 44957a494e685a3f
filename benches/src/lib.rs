//! Benchmarks for the session stores (see issue: benchmarks).
