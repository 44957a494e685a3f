//! The Redis store against the whole conformance suite: on a standalone server
//! (`REDIS_URL`) and on a Redis Cluster (`REDIS_CLUSTER_URLS`).

mod common;

use session_conformance::ManualClock;

session_conformance::suite!(standalone, |clock: ManualClock| async move {
    crate::common::fixture(clock, false).await
});

session_conformance::suite!(cluster, |clock: ManualClock| async move {
    crate::common::fixture(clock, true).await
});
