//! rlvr's `std` for Rust submissions: the real standard library, re-exported whole, except
//! `std::thread::{spawn, Builder, JoinHandle}`. wasm32-wasip1 has no threads, so the real
//! `spawn` fails; competitive programmers start one thread only to run `main` with a bigger stack
//! (`thread::Builder::new().stack_size(1 << 26).spawn(main2).unwrap().join()`). Here a spawned
//! closure runs to completion at once, on the program's own stack (`stack_bytes`, 32 MiB by
//! default), and `join` hands back its result. A thread spawned from inside a spawned closure
//! would need real concurrency: it panics with a message saying so (verdict RE).
//! The submission is compiled with `--extern std=` this crate; the file is compiled once per
//! toolchain and cached like programs.
#![no_std]
extern crate std as real;
pub use real::*;

/// Threads that run to completion when spawned.
pub mod thread {
    pub use real::thread::*;

    use real::cell::Cell;
    use real::string::String;

    real::thread_local! {
        static INSIDE: Cell<bool> = const { Cell::new(false) };
    }

    fn run<F: FnOnce() -> T, T>(f: F) -> T {
        if INSIDE.with(Cell::get) {
            panic!(
                "rlvr sandbox: real concurrency is not available (WASI has no threads); a spawned thread \
                 runs to completion at once, so it cannot spawn another"
            );
        }
        INSIDE.with(|c| c.set(true));
        let out = f();
        INSIDE.with(|c| c.set(false));
        out
    }

    /// The handle of a thread that has already finished.
    pub struct JoinHandle<T>(T);

    impl<T> JoinHandle<T> {
        /// The thread's result (a panic in the thread aborts the program instead).
        pub fn join(self) -> Result<T> {
            Ok(self.0)
        }
        /// Always `true`: the thread ran to completion when it was spawned.
        pub fn is_finished(&self) -> bool {
            true
        }
        /// The (only) thread.
        pub fn thread(&self) -> Thread {
            current()
        }
    }

    /// `std::thread::Builder` with the same methods; the stack size is recorded, not needed.
    #[derive(Debug, Default)]
    pub struct Builder {
        name: Option<String>,
        stack_size: Option<usize>,
    }

    impl Builder {
        /// A builder with no name and the default stack.
        pub fn new() -> Builder {
            Builder::default()
        }
        /// Names the thread.
        pub fn name(mut self, name: String) -> Builder {
            self.name = Some(name);
            self
        }
        /// Records the requested stack size; the closure runs on the program's stack (`stack_bytes`).
        pub fn stack_size(mut self, size: usize) -> Builder {
            self.stack_size = Some(size);
            self
        }
        /// Runs `f` to completion now.
        pub fn spawn<F, T>(self, f: F) -> real::io::Result<JoinHandle<T>>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            Ok(JoinHandle(run(f)))
        }
    }

    /// Runs `f` to completion now.
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        JoinHandle(run(f))
    }
}
