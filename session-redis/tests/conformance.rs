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

/// The fixture's teardown leaves nothing behind: after cases that create sessions, owner
/// indexes and locks under two prefixes (store and sibling), no key with either prefix is
/// left on any node, although those sessions had hours to live.
#[test]
fn teardown_removes_every_key() {
    use crate::common::{On, count_keys, fixture_with, unique_prefix, urls};
    session_conformance::block_on(async {
        for on in [On::Standalone, On::Cluster] {
            let (p, q) = (unique_prefix(), unique_prefix());
            let cases: Vec<session_conformance::Case> = session_conformance::cases::ALL
                .iter()
                .filter(|c| ["owner_change", "isolation", "lock"].contains(&c.group))
                .copied()
                .collect();
            let report = session_conformance::run_cases(&cases, |clock| {
                fixture_with(clock, on, p.clone(), q.clone())
            })
            .await;
            report.assert_passed();
            let left = count_keys(&urls(on), &p).await + count_keys(&urls(on), &q).await;
            assert_eq!(left, 0, "{on:?}: {left} keys left after the teardowns");
        }
    });
}
