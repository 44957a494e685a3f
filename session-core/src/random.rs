//! Random bytes for session ids: the operating system's CSPRNG, read a kilobyte at a time
//! per thread and handed out once each.
//!
//! One `getrandom` system call per id took about 380 ns on our machines (1 million calls
//! of 34 bytes, three runs), more than the rest of a memory store's create; a batch of
//! 1,024 bytes serves 30 ids per call. The bytes are the kernel's, unchanged (requirement
//! R1: ids from the OS CSPRNG), and each is zeroed in the batch as it is handed out, so
//! memory never holds an id that was already given (what is left of a batch is zeroed
//! when its thread ends).
//!
//! A process that forks copies its threads' unused bytes into the child, where the same
//! ids could be made again in both. Every store's create refuses a key already taken
//! ([`Error::Collision`](crate::Error::Collision)), so no two sessions could share one,
//! but a service that forks after making ids should not rely on that: fork before the
//! first request, as pre-forking servers do.

use std::cell::RefCell;

use zeroize::Zeroize as _;

/// Bytes fetched per system call.
const BATCH: usize = 1024;

/// One thread's unused random bytes: `bytes[used..]`.
struct Batch {
    bytes: [u8; BATCH],
    used: usize,
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

thread_local! {
    static BATCH_OF_THREAD: RefCell<Batch> = const {
        RefCell::new(Batch { bytes: [0; BATCH], used: BATCH })
    };
}

/// Fills `out` with random bytes from the OS, through this thread's batch (straight from
/// the OS for anything over a quarter of a batch).
///
/// # Errors
/// What `getrandom` reports when the OS's source fails; `out` is then not to be used.
pub(crate) fn fill(out: &mut [u8]) -> Result<(), getrandom::Error> {
    if out.len() > BATCH / 4 {
        return getrandom::fill(out);
    }
    BATCH_OF_THREAD.with(|batch| take(&mut batch.borrow_mut(), out))
}

/// `out.len()` bytes from `batch`, refilled first when too few are left. A failed refill
/// leaves `used` where it was, so the next call asks the OS again rather than handing out
/// bytes of an unfinished fill.
fn take(batch: &mut Batch, out: &mut [u8]) -> Result<(), getrandom::Error> {
    if BATCH - batch.used < out.len() {
        getrandom::fill(&mut batch.bytes)?;
        batch.used = 0;
    }
    let given = &mut batch.bytes[batch.used..batch.used + out.len()];
    out.copy_from_slice(given);
    given.zeroize();
    batch.used += out.len();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Across many refills no chunk repeats, and a chunk never straddles two fills as
    /// zeros: every byte handed out is the OS's.
    #[test]
    fn chunks_are_distinct_across_refills() {
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            let mut b = [0u8; 34];
            fill(&mut b).expect("os random");
            assert!(seen.insert(b), "a chunk repeated");
        }
    }

    /// What is handed out is zeroed in the batch; what is not is untouched.
    #[test]
    fn given_bytes_are_zeroed_in_the_batch() {
        let mut batch = Batch {
            bytes: [0; BATCH],
            used: BATCH,
        };
        let mut first = [0u8; 34];
        take(&mut batch, &mut first).expect("os random");
        assert_eq!(batch.used, 34);
        assert!(batch.bytes[..34].iter().all(|&b| b == 0));
        assert!(first.iter().any(|&b| b != 0));
        let rest = batch.bytes[34..].to_vec();
        assert!(
            rest.iter().any(|&b| b != 0),
            "the rest of the batch is random"
        );
        let mut second = [0u8; 34];
        take(&mut batch, &mut second).expect("os random");
        assert_eq!(&second[..], &rest[..34], "the next chunk follows the first");
        assert_ne!(first, second);
    }

    /// A batch with fewer bytes left than asked is refilled, not read past its end.
    #[test]
    fn a_short_batch_is_refilled() {
        let mut batch = Batch {
            bytes: [0; BATCH],
            used: BATCH - 10,
        };
        let mut out = [0u8; 34];
        take(&mut batch, &mut out).expect("os random");
        assert_eq!(batch.used, 34);
        assert!(out.iter().any(|&b| b != 0));
    }

    /// Threads draw from their own batches: two threads never get the same bytes.
    #[test]
    fn threads_do_not_share_bytes() {
        let draw = || {
            std::thread::spawn(|| {
                let mut b = [0u8; 34];
                fill(&mut b).expect("os random");
                b
            })
            .join()
            .expect("thread")
        };
        assert_ne!(draw(), draw());
    }
}
