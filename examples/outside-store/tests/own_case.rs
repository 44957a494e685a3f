//! A case of this crate's own, run beside the suite's with the helpers its cases use: what
//! a backend with a promise of its own (here: a session survives a second sweep) adds.

use std::sync::Arc;

use session_conformance::helpers::{HOUR, created, must_load, owned};
use session_conformance::{
    Case, CaseResult, Ctx, Fixture, ManualClock, Outcome, block_on, run_cases,
};
use session_memory::MemoryStore;

async fn survives_two_sweeps(ctx: Ctx) -> CaseResult {
    let k = created(&ctx, &owned(&ctx, "zoe", 2 * HOUR)).await?;
    ctx.clock.advance(HOUR);
    ctx.store.delete_expired().await?;
    ctx.store.delete_expired().await?;
    must_load(&ctx, &k, "after two sweeps").await?;
    Ok(())
}

const OWN: Case = Case::new(
    "outside",
    "survives_two_sweeps",
    "a live session survives two sweeps in a row",
    |ctx| Box::pin(survives_two_sweeps(ctx)),
);

fn fixture(clock: ManualClock) -> Fixture {
    Fixture::new(MemoryStore::builder().clock(Arc::new(clock)).build())
}

#[test]
fn own_case_runs_beside_the_suite() {
    let cases: Vec<Case> = session_conformance::cases::ALL
        .iter()
        .filter(|c| c.group == "expiry")
        .copied()
        .chain([OWN])
        .collect();
    let report = block_on(run_cases(&cases, |clock| async move { fixture(clock) }));
    report.assert_passed();
    assert_eq!(
        report.results.last().map(|(c, o)| (c.name, o.clone())),
        Some(("survives_two_sweeps", Outcome::Passed))
    );
}

/// The own case can fail: on a store that forgets everything at a sweep it does.
#[test]
fn own_case_can_fail() {
    #[derive(Debug)]
    struct Forgetful(MemoryStore);
    #[session_core::async_trait]
    impl session_core::SessionStore for Forgetful {
        async fn create(
            &self,
            k: &session_core::StoreKey,
            r: &session_core::Record,
        ) -> Result<(), session_core::Error> {
            self.0.create(k, r).await
        }
        async fn load(
            &self,
            k: &session_core::StoreKey,
        ) -> Result<Option<session_core::Record>, session_core::Error> {
            self.0.load(k).await
        }
        async fn save(
            &self,
            k: &session_core::StoreKey,
            r: &session_core::Record,
            v: u64,
        ) -> Result<(), session_core::Error> {
            self.0.save(k, r, v).await
        }
        async fn touch(
            &self,
            k: &session_core::StoreKey,
            e: session_core::Timestamp,
            l: session_core::Timestamp,
        ) -> Result<(), session_core::Error> {
            self.0.touch(k, e, l).await
        }
        async fn delete(&self, k: &session_core::StoreKey) -> Result<(), session_core::Error> {
            self.0.delete(k).await
        }
        async fn rotate(
            &self,
            o: &session_core::StoreKey,
            n: &session_core::StoreKey,
            r: &session_core::Record,
            v: u64,
        ) -> Result<(), session_core::Error> {
            self.0.rotate(o, n, r, v).await
        }
        async fn list_owner(
            &self,
            o: &str,
        ) -> Result<Vec<session_core::OwnerSession>, session_core::Error> {
            self.0.list_owner(o).await
        }
        async fn delete_owner(
            &self,
            o: &str,
            k: Option<&session_core::StoreKey>,
        ) -> Result<u64, session_core::Error> {
            self.0.delete_owner(o, k).await
        }
        async fn delete_expired(&self) -> Result<u64, session_core::Error> {
            for s in self.0.list_owner("zoe").await? {
                self.0.delete(&s.key).await?;
            }
            Ok(0)
        }
    }
    let report = block_on(run_cases([&OWN], |clock: ManualClock| async move {
        Fixture::new(Forgetful(
            MemoryStore::builder().clock(Arc::new(clock)).build(),
        ))
    }));
    assert_eq!(report.failures().len(), 1, "{report}");
}
