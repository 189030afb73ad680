//! Random UUIDs (v4) for idempotency keys, without a system call for each.
//!
//! Each thread keeps a pool of bytes from the operating system's generator,
//! filled [`KEYS_PER_FILL`] keys at a time. A key must never repeat: two
//! charges sharing a key within Klarna's 24 hours make the second one a
//! replay of the first, and its customer is not charged. Two guards keep a
//! pool's bytes from being used twice:
//!
//! - **A fork.** A child process gets a copy of its parent's pool. The pool
//!   remembers the id of the process that filled it and is filled again
//!   whenever the current process's id differs, before any byte of it is
//!   used: a child's id always differs from its living parent's.
//! - **What the id cannot tell.** Should process ids be reused (a process
//!   that inherited a stale pool getting the id of the one that filled it),
//!   each key is also mixed (XOR) with the wall clock's nanoseconds, so two
//!   copies of one pool give different keys unless taken at the same
//!   nanosecond. XOR with any value independent of the pool keeps the bytes
//!   uniformly random.
//!
//! Reading the process id is a cheap system call; reading the clock is none
//! (vDSO). The operating system's generator costs a system call and a
//! cipher block per call, which one fill now pays for [`KEYS_PER_FILL`] keys.

use std::cell::RefCell;

/// Keys taken from one fill of a pool.
const KEYS_PER_FILL: usize = 16;

/// One thread's bytes from the operating system's generator.
struct Pool {
    bytes: [u8; 16 * KEYS_PER_FILL],
    /// The next unused byte; `bytes.len()` when empty.
    next: usize,
    /// The process that filled it.
    filled_by: u32,
}

impl Pool {
    const fn empty() -> Self {
        Self {
            bytes: [0; 16 * KEYS_PER_FILL],
            next: 16 * KEYS_PER_FILL,
            filled_by: 0,
        }
    }

    /// Sixteen unused bytes for process `pid`, filling the pool first when
    /// it is empty or was filled by another process; `None` when it could
    /// not be filled. Used bytes are zeroed.
    fn take(
        &mut self,
        pid: u32,
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Option<[u8; 16]> {
        if self.next + 16 > self.bytes.len() || self.filled_by != pid {
            // Marked empty first: a failed fill leaves nothing to reuse.
            self.next = self.bytes.len();
            fill(&mut self.bytes).ok()?;
            self.next = 0;
            self.filled_by = pid;
        }
        let mut out = [0u8; 16];
        let used = &mut self.bytes[self.next..self.next + 16];
        out.copy_from_slice(used);
        used.fill(0);
        self.next += 16;
        Some(out)
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool::empty()) };
}

/// The wall clock's nanoseconds since the Unix epoch, as 16 bytes (zero
/// before the epoch).
fn clock_bytes() -> [u8; 16] {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or(0)
        .to_le_bytes()
}

/// A random UUID v4. Falls back to `uuid`'s own (a system call per key)
/// should the pool be out of reach or its fill fail.
pub(crate) fn uuid_v4() -> uuid::Uuid {
    let pid = std::process::id();
    let taken = POOL
        .try_with(|pool| {
            pool.try_borrow_mut()
                .ok()
                .and_then(|mut pool| pool.take(pid, getrandom::fill))
        })
        .ok()
        .flatten();
    match taken {
        Some(mut bytes) => {
            for (b, c) in bytes.iter_mut().zip(clock_bytes()) {
                *b ^= c;
            }
            uuid::Builder::from_random_bytes(bytes).into_uuid()
        }
        None => uuid::Uuid::new_v4(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn counting_fill(
        fills: &mut u32,
    ) -> impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error> + '_ {
        move |bytes| {
            *fills += 1;
            getrandom::fill(bytes)
        }
    }

    #[test]
    fn one_fill_serves_a_batch_of_keys_and_no_bytes_twice() {
        let mut pool = Pool::empty();
        let mut fills = 0;
        let mut seen = HashSet::new();
        for _ in 0..3 * KEYS_PER_FILL {
            let bytes = pool.take(7, counting_fill(&mut fills)).unwrap();
            assert!(seen.insert(bytes), "bytes used twice");
        }
        assert_eq!(fills, 3);
        // What was handed out is gone from the pool.
        assert!(pool.bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn another_process_fills_the_pool_again_before_using_it() {
        let mut pool = Pool::empty();
        let mut fills = 0;
        let parent = pool.take(100, counting_fill(&mut fills)).unwrap();
        // The copy a forked child gets: the same bytes, the parent's id.
        let mut child = Pool {
            bytes: pool.bytes,
            next: pool.next,
            filled_by: pool.filled_by,
        };
        let from_child = child.take(101, counting_fill(&mut fills)).unwrap();
        let from_parent = pool.take(100, counting_fill(&mut fills)).unwrap();
        assert_eq!(fills, 2, "the child fills its copy, the parent does not");
        assert_ne!(from_child, from_parent);
        assert_ne!(from_child, parent);
    }

    #[test]
    fn a_failed_fill_hands_out_nothing_and_leaves_the_pool_empty() {
        let mut pool = Pool::empty();
        assert!(
            pool.take(1, |_| Err(getrandom::Error::UNSUPPORTED))
                .is_none()
        );
        assert_eq!(pool.next, pool.bytes.len());
        let mut fills = 0;
        assert!(pool.take(1, counting_fill(&mut fills)).is_some());
        assert_eq!(fills, 1);
    }

    #[test]
    fn keys_are_v4_rfc_uuids_and_distinct_across_threads() {
        let keys: Vec<uuid::Uuid> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..5 * KEYS_PER_FILL)
                            .map(|_| uuid_v4())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let distinct: HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        for key in &keys {
            assert_eq!(key.get_version_num(), 4);
            assert_eq!(key.get_variant(), uuid::Variant::RFC4122);
        }
    }
}
