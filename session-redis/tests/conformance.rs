//! The Redis store against the whole conformance suite: on a standalone server
//! (`REDIS_URL`) and on a Redis Cluster (`REDIS_CLUSTER_URLS`), with and without a tag key.

mod common;

use session_conformance::ManualClock;

session_conformance::suite!(standalone, |clock: ManualClock| async move {
    crate::common::fixture(clock, crate::common::On::Standalone).await
});

// With a tag key (an owner's sessions and index share a slot: logins are one script) and
// without (random tags: every login and logout everywhere takes the cross-slot path).
session_conformance::suite!(cluster, |clock: ManualClock| async move {
    crate::common::fixture(clock, crate::common::On::Cluster).await
});

session_conformance::suite!(cluster_untagged, |clock: ManualClock| async move {
    crate::common::fixture(clock, crate::common::On::ClusterUntagged).await
});
