//! Admission: a bounded, first-come-first-served pool of sandbox slots shared by every caller of
//! the engine (`rlvr score`, `/v1/score`, `/run_code`, the Python package).
//!
//! Why it exists: a run's time limit is decided by fuel, which does not depend on load, but its
//! wall-clock backstop does. Run 64 sandboxes at once on two cores and each gets a 32nd of a core;
//! a program that needs 3 s alone then needs 100 s of wall time, and the backstop would turn a
//! correct program into a time-out. With the pool, at most [`Admission::capacity`] sandboxes run at
//! once (default: one per core), the rest wait in arrival order *before* their clock starts, so a
//! run sees about the same machine at concurrency 64 as at concurrency 1, and the verdict is the same.
//!
//! Every [`super::sandbox::Sandbox::run`] takes a slot for its duration. A caller that wants one
//! slot to cover more (a `/run_code` job covers its build and its run) takes it first with
//! [`Admission::acquire_within`] and runs the work inside [`Slot::enter`]: runs on that thread, and
//! on guest threads started from it with [`super::sandbox::on_big_stack`], are then already admitted
//! and take no second slot (so nesting never deadlocks). Two sandboxes that must run at the same
//! time to make progress (an interactor and its program) take their slots together with
//! [`Admission::acquire_many`].
//!
//! # Limits
//! The pool's size: `RLVR_SANDBOX_SLOTS` in the environment when the pool is first used (1 to
//! [`MAX_SLOTS`]), or [`configure_global`] before that; default: the machine's available
//! parallelism. A job past the pool waits; [`Admission::acquire_within`] bounds the wait.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The largest pool: more slots than this would only time-slice the cores again.
pub const MAX_SLOTS: usize = 4096;

/// The environment variable that sets the global pool's size.
pub const SLOTS_ENV: &str = "RLVR_SANDBOX_SLOTS";

/// Why a pool could not be made or a slot not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The pool size is outside `1..=MAX_SLOTS`.
    #[error("sandbox slots must be between 1 and {max}, got {got}")]
    Slots {
        /// The size asked for.
        got: usize,
        /// [`MAX_SLOTS`].
        max: usize,
    },
    /// `RLVR_SANDBOX_SLOTS` is not a number.
    #[error("{SLOTS_ENV}={0:?} is not a number of sandbox slots")]
    Env(String),
    /// The global pool was already in use when [`configure_global`] was called.
    #[error("the sandbox pool is already in use with {0} slots")]
    AlreadyConfigured(usize),
    /// No slot became free within the allowed wait.
    #[error("no sandbox slot became free within {waited:?} ({running} of {capacity} running, {waiting} waiting)")]
    Busy {
        /// How long the caller waited.
        waited: Duration,
        /// Slots in use when it gave up.
        running: usize,
        /// The pool's size.
        capacity: usize,
        /// Callers still waiting.
        waiting: usize,
    },
}

#[derive(Debug, Default)]
struct Queue {
    running: usize,
    next_ticket: u64,
    waiting: VecDeque<(u64, usize)>,
}

/// A bounded pool of sandbox slots, granted in arrival order.
#[derive(Debug)]
pub struct Admission {
    capacity: usize,
    queue: Mutex<Queue>,
    freed: Condvar,
}

thread_local! {
    /// Slots the current thread is inside ([`Slot::enter`] or a run's own slot); non-zero means a
    /// further acquisition on this thread is already covered.
    static ADMITTED: Cell<usize> = const { Cell::new(0) };
}

/// Whether the current thread already runs inside a slot.
pub fn is_admitted() -> bool {
    ADMITTED.with(Cell::get) > 0
}

/// Runs `f` with the current thread marked as admitted (no further slot is taken for its sandbox
/// runs). Used to carry a caller's slot onto a guest thread it started.
pub fn admitted<R>(f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            ADMITTED.with(|a| a.set(a.get().saturating_sub(1)));
        }
    }
    ADMITTED.with(|a| a.set(a.get() + 1));
    let _leave = Leave;
    f()
}

/// Held slots; they go back to the pool when this is dropped. Empty (holds nothing) when the
/// thread was already admitted.
#[derive(Debug)]
#[must_use = "the slot is released when dropped"]
pub struct Slot<'a> {
    pool: Option<&'a Admission>,
    slots: usize,
}

impl Slot<'_> {
    /// Slots held (0 when the caller was already admitted).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Runs `f` on this thread as admitted: sandbox runs inside it take no second slot.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        admitted(f)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            let mut queue = pool.lock();
            queue.running -= self.slots;
            drop(queue);
            pool.freed.notify_all();
        }
    }
}

impl Admission {
    /// A pool of `slots` slots (1 to [`MAX_SLOTS`]).
    pub fn new(slots: usize) -> Result<Admission, AdmissionError> {
        if slots == 0 || slots > MAX_SLOTS {
            return Err(AdmissionError::Slots { got: slots, max: MAX_SLOTS });
        }
        Ok(Admission { capacity: slots, queue: Mutex::new(Queue::default()), freed: Condvar::new() })
    }

    /// The pool's size.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Slots in use now.
    pub fn running(&self) -> usize {
        self.lock().running
    }

    /// Callers waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding this lock leaves the counters consistent (no code between the
        // updates can panic), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One slot, waiting as long as it takes (in arrival order).
    pub fn acquire(&self) -> Slot<'_> {
        match self.acquire_inner(1, None) {
            Ok(slot) => slot,
            // Unreachable: without a deadline the wait only ends with a slot.
            Err(_) => Slot { pool: None, slots: 0 },
        }
    }

    /// One slot, or [`AdmissionError::Busy`] when none is free within `wait`.
    pub fn acquire_within(&self, wait: Duration) -> Result<Slot<'_>, AdmissionError> {
        self.acquire_inner(1, Some(wait))
    }

    /// `n` slots at once (at most the pool's size: a pool smaller than `n` gives all its slots, so
    /// work that needs `n` sandboxes alive together still runs), or `Busy` past `wait`.
    pub fn acquire_many(&self, n: usize, wait: Option<Duration>) -> Result<Slot<'_>, AdmissionError> {
        self.acquire_inner(n.clamp(1, self.capacity), wait)
    }

    fn acquire_inner(&self, n: usize, wait: Option<Duration>) -> Result<Slot<'_>, AdmissionError> {
        if is_admitted() {
            return Ok(Slot { pool: None, slots: 0 });
        }
        let started = Instant::now();
        let mut queue = self.lock();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push_back((ticket, n));
        loop {
            if queue.waiting.front().map(|w| w.0) == Some(ticket) && queue.running + n <= self.capacity {
                queue.waiting.pop_front();
                queue.running += n;
                drop(queue);
                // The next in line may fit too.
                self.freed.notify_all();
                return Ok(Slot { pool: Some(self), slots: n });
            }
            queue = match wait {
                None => self.freed.wait(queue).unwrap_or_else(|p| p.into_inner()),
                Some(wait) => {
                    let left = wait.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        queue.waiting.retain(|w| w.0 != ticket);
                        let err = AdmissionError::Busy {
                            waited: started.elapsed(),
                            running: queue.running,
                            capacity: self.capacity,
                            waiting: queue.waiting.len(),
                        };
                        drop(queue);
                        // Whoever was behind this caller may be first now.
                        self.freed.notify_all();
                        return Err(err);
                    }
                    self.freed.wait_timeout(queue, left).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }
}

static GLOBAL: OnceLock<Admission> = OnceLock::new();

fn default_slots() -> Result<usize, AdmissionError> {
    match std::env::var(SLOTS_ENV) {
        Ok(text) => text.trim().parse::<usize>().map_err(|_| AdmissionError::Env(text)),
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// The engine-wide pool every sandbox run goes through (see the module docs for its size). An
/// unusable `RLVR_SANDBOX_SLOTS` falls back to the default here; [`configure_global`] reports it.
pub fn global() -> &'static Admission {
    GLOBAL.get_or_init(|| {
        let slots = default_slots().unwrap_or_else(|_| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Admission::new(slots.clamp(1, MAX_SLOTS)).unwrap_or_else(|_| Admission {
            capacity: 1,
            queue: Mutex::new(Queue::default()),
            freed: Condvar::new(),
        })
    })
}

/// Sets the global pool's size (`None`: `RLVR_SANDBOX_SLOTS` or the default) before its first
/// use; returns the size in force. Past first use it fails with `AlreadyConfigured` unless the
/// size asked for is the one in force.
pub fn configure_global(slots: Option<usize>) -> Result<usize, AdmissionError> {
    let slots = match slots {
        Some(n) => n,
        None => default_slots()?,
    };
    let pool = Admission::new(slots)?;
    match GLOBAL.set(pool) {
        Ok(()) => Ok(slots),
        Err(_) if global().capacity() == slots => Ok(slots),
        Err(_) => Err(AdmissionError::AlreadyConfigured(global().capacity())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Boundary pair: a pool of N grants N slots at once; the (N+1)-th waits (here: gives up
    /// after its wait) until one is returned, and then gets it.
    #[test]
    fn the_pool_grants_its_capacity_and_queues_one_past() {
        let pool = Admission::new(3).unwrap();
        let held: Vec<_> = (0..3).map(|_| pool.acquire_within(Duration::ZERO).unwrap()).collect();
        assert_eq!(pool.running(), 3);
        let err = pool.acquire_within(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(err, AdmissionError::Busy { running: 3, capacity: 3, waiting: 0, .. }), "{err:?}");
        drop(held);
        assert_eq!(pool.running(), 0);
        let again = pool.acquire_within(Duration::ZERO).unwrap();
        assert_eq!(again.slots(), 1);
    }

    #[test]
    fn pool_size_boundaries() {
        assert!(Admission::new(1).is_ok());
        assert!(Admission::new(MAX_SLOTS).is_ok());
        assert_eq!(Admission::new(0).unwrap_err(), AdmissionError::Slots { got: 0, max: MAX_SLOTS });
        assert_eq!(
            Admission::new(MAX_SLOTS + 1).unwrap_err(),
            AdmissionError::Slots { got: MAX_SLOTS + 1, max: MAX_SLOTS }
        );
    }

    /// 16 threads over 2 slots: never more than 2 inside at once, and every thread gets in.
    #[test]
    fn concurrency_never_exceeds_the_pool() {
        let pool = Arc::new(Admission::new(2).unwrap());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (pool, inside, most) = (pool.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _slot = pool.acquire();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(pool.running(), 0);
        assert_eq!(pool.waiting(), 0);
    }

    /// Inside a slot, further acquisitions on the thread (and in `admitted` blocks on threads it
    /// starts) take nothing, so nesting cannot deadlock even on a pool of one.
    #[test]
    fn nested_acquisition_is_covered_by_the_outer_slot() {
        let pool = Admission::new(1).unwrap();
        let outer = pool.acquire();
        outer.enter(|| {
            let inner = pool.acquire_within(Duration::ZERO).expect("covered, no wait");
            assert_eq!(inner.slots(), 0);
        });
        assert_eq!(pool.running(), 1);
        assert!(pool.acquire_within(Duration::ZERO).is_err(), "outside `enter` the pool is full");
    }

    /// `acquire_many` past the pool's size takes the whole pool instead of waiting forever.
    #[test]
    fn acquire_many_is_clamped_to_the_pool() {
        let pool = Admission::new(2).unwrap();
        let pair = pool.acquire_many(2, Some(Duration::ZERO)).unwrap();
        assert_eq!(pair.slots(), 2);
        drop(pair);
        let all = pool.acquire_many(5, Some(Duration::ZERO)).unwrap();
        assert_eq!(all.slots(), 2);
    }

    /// First come, first served: a waiter that arrived earlier is admitted before a later one.
    #[test]
    fn slots_are_granted_in_arrival_order() {
        let pool = Arc::new(Admission::new(1).unwrap());
        let first = pool.acquire();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..4 {
            let (waiter, order) = (pool.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _slot = waiter.acquire();
                order.lock().unwrap().push(i);
            }));
            // Let each waiter take its ticket before the next one arrives.
            while pool.waiting() < i + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }
}
