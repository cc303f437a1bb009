//! The wasmtime sandbox every guest program runs in.
//!
//! One process-wide [`Sandbox`] holds the wasmtime `Engine` (Cranelift, pooling allocator with
//! copy-on-write memory images, fuel and epoch interruption on, no Wasm proposals beyond the
//! defaults wasm32-wasi toolchains emit plus exception handling for C++; GC, threads and the
//! component model off), a linker with WASI preview 1 and the `rlvr` host imports,
//! and two caches of compiled modules: on disk (`.cwasm` files keyed by the SHA-256 of the Wasm
//! bytes and the engine's compatibility hash) and in memory (`InstancePre`, imports type-checked
//! once). A run is then one instantiation from the pool (~0.1 ms) plus the guest's own work.
//!
//! What the guest sees: its arguments; stdin as the read-only regular file `/.rlvr/stdin` (the
//! guest runtime moves it to fd 0, so `fstat(0).st_size` is its true size); stdout and stderr as
//! memory pipes whose caps are checked as bytes arrive (the two guests of an interactive test read
//! and write each other's pipes instead, [`Sandbox::run_linked`]); read-only runtime files (the Python stdlib)
//! and nothing else: no environment, no host files, no network. Clocks are virtual (they start at
//! a fixed date and advance 1 µs per reading plus any `sleep`), and randomness is a fixed-seed
//! generator, so a verdict never varies between runs. `sleep` returns at once and adds its duration
//! to the run's virtual wall time, which counts against `wall_ms`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::{
    Caller, Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module, PoolingAllocationConfig,
    ResourceLimiter, Store, Trap, UpdateDeadline,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, I32Exit, WasiCtxBuilder};

use super::interact::{Cut, Link, Side};
use super::limits::{CodeLimits, MAX_MEMORY_BYTES};

/// Native stack wasmtime lets guest code use (256 MiB): CPython's recursion through C frames needs it.
/// Every run happens on a thread whose stack is larger than this.
pub const MAX_WASM_STACK: usize = 256 << 20;

/// Stack of the threads guest code runs on: the Wasm stack plus room for the host.
pub const RUN_THREAD_STACK: usize = MAX_WASM_STACK + (32 << 20);

/// Most compiled modules kept in memory; the `.cwasm` disk cache holds the rest.
pub const MODULES_IN_MEMORY: usize = 128;

/// Epoch tick: how often the wall-clock and output checks run.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Why the sandbox itself could not run a program (never the program's fault).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The wasmtime engine could not be set up.
    #[error("cannot set up the wasmtime engine: {0}")]
    Engine(String),
    /// A guest module is invalid or could not be compiled or loaded.
    #[error("cannot load guest module {what}: {message}")]
    Module {
        /// Which module.
        what: String,
        /// Why.
        message: String,
    },
    /// Host-side I/O failed (temp dirs, cache files).
    #[error("sandbox I/O error: {0}")]
    Io(String),
}

/// Which limit stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// The fuel budget ([`CodeLimits::fuel`]).
    Fuel,
    /// The wall-clock backstop ([`CodeLimits::wall_ms`]), including virtual sleep.
    Wall,
    /// Linear memory ([`CodeLimits::memory_bytes`]).
    Memory,
    /// Stdout size ([`CodeLimits::output_bytes`]).
    Output,
    /// The Wasm call stack or the guest's C stack.
    Stack,
    /// An interactive test's two guests both waited for input from the other (a deadlock:
    /// Codeforces' "idleness limit exceeded"); see [`super::interact`].
    Idle,
}

impl LimitKind {
    /// The limit's name as used in verdicts.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Fuel => "fuel",
            LimitKind::Wall => "wall",
            LimitKind::Memory => "memory",
            LimitKind::Output => "output",
            LimitKind::Stack => "stack",
            LimitKind::Idle => "idle",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The program exited (returned from `_start`, or called `exit`/`proc_exit`) with this status.
    Status(i32),
    /// For [`Entry::Reactor`]: the exported main function returned this value.
    Returned(i32),
    /// The program exited during its initialisation (before an exported main could be called).
    ExitedEarly(i32),
    /// A limit stopped the program.
    Limit(LimitKind),
    /// The program trapped (a crash: out-of-bounds access, `unreachable`, abort, …).
    Trap(String),
}

/// How to start a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A WASI command: call `_start`.
    Command,
    /// A WASI reactor: call `_initialize` (if exported), then the exported main; the host sees main's
    /// return value itself, so an `exit(0)` anywhere is never mistaken for a completed main.
    Reactor,
}

/// One run's input.
#[derive(Debug, Clone)]
pub struct RunInput<'a> {
    /// `argv`, including `argv[0]`.
    pub args: &'a [String],
    /// Bytes of stdin.
    pub stdin: &'a [u8],
    /// Files the program needs (e.g. `main.py`), placed in `/.rlvr` beside `stdin`.
    pub files: &'a [(String, Vec<u8>)],
    /// Read-only host directories: `(host path, guest path)`.
    pub ro_dirs: &'a [(PathBuf, String)],
    /// Whether the program gets a fresh writable scratch directory at `/tmp`.
    pub scratch: bool,
    /// How to start it.
    pub entry: Entry,
}

/// A fresh writable directory for one run, mounted at `guest` (e.g. `/` for file I/O problems, so
/// `fopen("output.txt")` lands there; `/feedback` for a Kattis validator), holding `files` at the
/// start. The regular files in it after the run come back in [`RunOutput::workdir_files`].
#[derive(Debug, Clone, Copy)]
pub struct Workdir<'a> {
    /// Where the guest sees it.
    pub guest: &'a str,
    /// Files placed in it before the run.
    pub files: &'a [(String, Vec<u8>)],
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// How it ended.
    pub exit: Exit,
    /// Stdout, at most `output_bytes + 1` bytes.
    pub stdout: Vec<u8>,
    /// Stderr, at most `stderr_bytes`.
    pub stderr: Vec<u8>,
    /// Fuel consumed.
    pub fuel: u64,
    /// Wall time of instantiation plus execution.
    pub wall: Duration,
    /// Virtual time the program slept.
    pub slept: Duration,
    /// Largest linear memory the program had, in bytes.
    pub peak_memory: u64,
    /// Whether a memory grow was refused at the memory limit.
    pub memory_refused: bool,
    /// `rlvr.finish` status, when the guest runtime called it (Python `script` mode).
    pub finished: Option<i32>,
    /// Results handed over with `rlvr.emit`: `(test index, serialised value)` in call order.
    pub emitted: Vec<(i32, Vec<u8>)>,
    /// The regular files in the run's [`Workdir`] afterwards, by name, at most `output_bytes` in all
    /// (a file past that is cut to what fits).
    pub workdir_files: Vec<(String, Vec<u8>)>,
}

/// The sandbox state of one run.
pub struct Guest {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
    clock: Arc<AtomicU64>,
    slept_ns: u64,
    wall_limit_ns: u64,
    limit_hit: Option<LimitKind>,
    finished: Option<i32>,
    emitted: Vec<(i32, Vec<u8>)>,
    emitted_bytes: u64,
    emit_cap: u64,
}

struct MemoryLimiter {
    max: usize,
    peak: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.refused = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// Virtual time shared by the guest's monotonic and wall clocks, in nanoseconds since the run began.
struct VirtualClock(Arc<AtomicU64>);

/// Fixed start of the guest's wall clock: 2024-01-01T00:00:00Z.
const WALL_EPOCH: Duration = Duration::from_secs(1_704_067_200);

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1_000
    }
    fn now(&self) -> u64 {
        self.0.fetch_add(1_000, Ordering::Relaxed) + 1_000
    }
}

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }
    fn now(&self) -> Duration {
        WALL_EPOCH + Duration::from_nanos(self.0.fetch_add(1_000, Ordering::Relaxed) + 1_000)
    }
}

/// Fixed "random" bytes for the guest (SplitMix64 from a constant seed, 4 KiB, cycled), so programs
/// that use randomness behave the same on every run.
fn fixed_random(seed: u64) -> wasmtime_wasi::random::Deterministic {
    let mut state = seed;
    let mut bytes = Vec::with_capacity(4096);
    while bytes.len() < 4096 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    wasmtime_wasi::random::Deterministic::new(bytes)
}

/// The process-wide sandbox: engine, linker and module caches.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<Guest>,
    cache_dir: Option<PathBuf>,
    modules: Mutex<HashMap<[u8; 32], Arc<InstancePre<Guest>>>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("cache_dir", &self.cache_dir).finish_non_exhaustive()
    }
}

/// The directory rlvr caches compiled artifacts in: `$RLVR_CACHE`, else `~/.cache/rlvr`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RLVR_CACHE") {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("rlvr"))
}

/// Hex SHA-256 of some byte strings, each length-prefixed so that concatenations cannot collide.
pub fn content_hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Lower-case hex of a hash.
pub fn hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sandbox {
    /// The shared sandbox, created on first use.
    pub fn global() -> Result<&'static Sandbox, String> {
        static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();
        SANDBOX
            .get_or_init(|| Sandbox::new(default_cache_dir()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A sandbox with its own engine; `cache_dir` holds compiled modules (none: memory only).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Sandbox, SandboxError> {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.epoch_interruption(true);
        // Runs are synchronous, but wasmtime checks the async stack bound whenever async is compiled in.
        config.async_stack_size(MAX_WASM_STACK + (1 << 20));
        config.max_wasm_stack(MAX_WASM_STACK);
        config.wasm_component_model(false);
        // Modules compile on the calling thread. Wasmtime's parallel compilation hands functions to
        // rayon's global pool; when every pool thread is a batch worker waiting for its guest thread,
        // a guest compiling a fresh C/C++/Rust program would wait for a pool thread forever.
        config.parallel_compilation(false);
        // C++ `throw`/`catch` compiles to the exception-handling proposal (exnref), which wasmtime
        // builds on its GC heap; the GC proposal itself stays off.
        config.wasm_exceptions(true);
        config.wasm_gc(false);
        config.wasm_function_references(false);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_stacks(1)
            .total_core_instances(256)
            .total_memories(256)
            .total_tables(256)
            .total_gc_heaps(256)
            .max_memory_size(MAX_MEMORY_BYTES as usize);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| SandboxError::Engine(e.to_string()))?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("rlvr-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| SandboxError::Engine(format!("cannot start the epoch thread: {e}")))?;
        let linker = Self::linker(&engine).map_err(|e| SandboxError::Engine(e.to_string()))?;
        Ok(Sandbox { engine, linker, cache_dir, modules: Mutex::new(HashMap::new()) })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn linker(engine: &Engine) -> wasmtime::Result<Linker<Guest>> {
        let mut linker: Linker<Guest> = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |g: &mut Guest| &mut g.wasi)?;
        linker.allow_shadowing(true);
        linker.func_wrap("wasi_snapshot_preview1", "poll_oneoff", poll_oneoff)?;
        linker.func_wrap("rlvr", "finish", |mut caller: Caller<'_, Guest>, status: i32| {
            caller.data_mut().finished = Some(status);
        })?;
        linker.func_wrap("rlvr", "emit", |mut caller: Caller<'_, Guest>, index: i32, ptr: i32, len: i32| {
            let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                return Err(wasmtime::format_err!("rlvr.emit: guest has no memory"));
            };
            let (start, len) = (ptr as u32 as usize, len as u32 as usize);
            let bytes = memory
                .data(&caller)
                .get(start..start.saturating_add(len))
                .ok_or_else(|| wasmtime::format_err!("rlvr.emit: out of bounds"))?
                .to_vec();
            let guest = caller.data_mut();
            guest.emitted_bytes += bytes.len() as u64;
            if guest.emitted_bytes > guest.emit_cap {
                guest.limit_hit = Some(LimitKind::Output);
                return Err(wasmtime::format_err!("rlvr.emit: output limit"));
            }
            guest.emitted.push((index, bytes));
            Ok(())
        })?;
        Ok(linker)
    }

    /// Compiles (or loads from the caches) a module; `what` names it in errors.
    pub fn module(&self, wasm: &[u8], what: &str) -> Result<Arc<InstancePre<Guest>>, SandboxError> {
        let key = content_hash(&[wasm]);
        if let Some(pre) = self.modules.lock().map_err(|_| SandboxError::Io("module cache poisoned".into()))?.get(&key)
        {
            return Ok(pre.clone());
        }
        let fail = |message: String| SandboxError::Module { what: what.to_string(), message };
        let module = self.load_or_compile(wasm, &key).map_err(fail)?;
        let pre = Arc::new(self.linker.instantiate_pre(&module).map_err(|e| fail(e.to_string()))?);
        let mut modules = self.modules.lock().map_err(|_| SandboxError::Io("module cache poisoned".into()))?;
        // Bounded: compiled code is megabytes per module; past the bound start over (the disk cache stays).
        if modules.len() >= MODULES_IN_MEMORY {
            modules.clear();
        }
        modules.insert(key, pre.clone());
        Ok(pre)
    }

    fn load_or_compile(&self, wasm: &[u8], key: &[u8; 32]) -> Result<Module, String> {
        use std::hash::{Hash, Hasher};
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut engine_hash);
        let path = self
            .cache_dir
            .as_ref()
            .map(|dir| dir.join("modules").join(format!("{}-{:016x}.cwasm", hex(key), engine_hash.finish())));
        if let Some(path) = &path
            && path.exists()
        {
            // SAFETY: the file was written by `Module::serialize` of an engine with the same
            // compatibility hash (it is in the name), into rlvr's own cache directory.
            if let Ok(module) = unsafe { Module::deserialize_file(&self.engine, path) } {
                return Ok(module);
            }
        }
        let module = Module::new(&self.engine, wasm).map_err(|e| format!("{e:#}"))?;
        if let Some(path) = &path
            && let Ok(bytes) = module.serialize()
        {
            let _ = write_atomic(path, &bytes);
        }
        Ok(module)
    }

    /// Runs a module once under `limits`. Call this on a thread with [`RUN_THREAD_STACK`] of stack.
    pub fn run(
        &self,
        pre: &InstancePre<Guest>,
        input: &RunInput<'_>,
        limits: &CodeLimits,
    ) -> Result<RunOutput, SandboxError> {
        self.run_with_workdir(pre, input, limits, None)
    }

    /// [`Sandbox::run`] with a writable [`Workdir`].
    pub fn run_with_workdir(
        &self,
        pre: &InstancePre<Guest>,
        input: &RunInput<'_>,
        limits: &CodeLimits,
        workdir: Option<&Workdir<'_>>,
    ) -> Result<RunOutput, SandboxError> {
        self.run_inner(pre, input, limits, workdir, None)
    }

    /// [`Sandbox::run_with_workdir`] for one side of an interactive test: stdin and stdout are the
    /// [`Link`]'s pipes (`input.stdin` is not used), the run ends early when the link stops it, and
    /// the side is closed on the link when the guest exits. [`RunOutput::stdout`] stays empty.
    pub fn run_linked(
        &self,
        pre: &InstancePre<Guest>,
        input: &RunInput<'_>,
        limits: &CodeLimits,
        workdir: Option<&Workdir<'_>>,
        link: &Arc<Link>,
        side: Side,
    ) -> Result<RunOutput, SandboxError> {
        let out = self.run_inner(pre, input, limits, workdir, Some((link, side)));
        // Also when the run could not start: the peer must not wait for this side.
        link.close(side);
        out
    }

    fn run_inner(
        &self,
        pre: &InstancePre<Guest>,
        input: &RunInput<'_>,
        limits: &CodeLimits,
        workdir: Option<&Workdir<'_>>,
        link: Option<(&Arc<Link>, Side)>,
    ) -> Result<RunOutput, SandboxError> {
        // Wait for a slot before the clock starts (see `admission`): the wall-clock backstop then
        // sees about the same machine at any load.
        let _slot = super::admission::global().acquire();
        let mut files = RunFiles::place(input, link.is_none())?;
        if let Some(workdir) = workdir {
            files.place_workdir(workdir)?;
        }
        let stdout = MemoryOutputPipe::new(limits.output_bytes as usize + 1);
        let stderr = MemoryOutputPipe::new(limits.stderr_bytes as usize);
        let clock = Arc::new(AtomicU64::new(0));
        let mut b = WasiCtxBuilder::new();
        b.args(input.args);
        match link {
            None => {
                b.stdin(MemoryInputPipe::new(input.stdin.to_vec())).stdout(stdout.clone());
            }
            Some((link, side)) => {
                b.stdin(link.stdin(side)).stdout(link.stdout(side));
            }
        }
        b.stderr(stderr.clone())
            .allow_blocking_current_thread(true)
            .monotonic_clock(VirtualClock(clock.clone()))
            .wall_clock(VirtualClock(clock.clone()))
            .secure_random(fixed_random(0x5eed))
            .insecure_random(fixed_random(0xfeed))
            .insecure_random_seed(0x1234_5678);
        b.preopened_dir(&files.dir, "/.rlvr", FsPerms::ReadOnly).map_err(|e| SandboxError::Io(e.to_string()))?;
        for (host, guest) in input.ro_dirs {
            b.preopened_dir(host, guest, FsPerms::ReadOnly).map_err(|e| SandboxError::Io(e.to_string()))?;
        }
        if let Some(scratch) = &files.scratch {
            b.preopened_dir(scratch, "/tmp", FsPerms::ReadWrite).map_err(|e| SandboxError::Io(e.to_string()))?;
        }
        if let (Some(dir), Some(workdir)) = (&files.workdir, workdir) {
            b.preopened_dir(dir, workdir.guest, FsPerms::ReadWrite).map_err(|e| SandboxError::Io(e.to_string()))?;
        }
        let guest = Guest {
            wasi: b.build_p1(),
            limiter: MemoryLimiter { max: limits.memory_bytes as usize, peak: 0, refused: false },
            clock,
            slept_ns: 0,
            wall_limit_ns: limits.wall_ms.saturating_mul(1_000_000),
            limit_hit: None,
            finished: None,
            emitted: Vec::new(),
            emitted_bytes: 0,
            emit_cap: limits.output_bytes,
        };
        let mut store = Store::new(&self.engine, guest);
        store.limiter(|g| &mut g.limiter);
        store.set_fuel(limits.fuel).map_err(|e| SandboxError::Engine(e.to_string()))?;
        let started = Instant::now();
        let wall = Duration::from_millis(limits.wall_ms);
        let out_probe = stdout.clone();
        let out_cap = limits.output_bytes as usize;
        store.set_epoch_deadline(1);
        let mut ticks = 0u64;
        let work_probe = files.workdir.clone();
        let link_probe = link.map(|(link, side)| (link.clone(), side));
        store.epoch_deadline_callback(move |mut ctx| {
            ticks += 1;
            // The judge stopped this side of an interactive test (the link says why afterwards).
            if let Some((link, side)) = &link_probe
                && link.cut(*side).is_some()
            {
                return Ok(UpdateDeadline::Interrupt);
            }
            // Files written to a workdir count against the output limit, checked every tick: the
            // directory is on tmpfs, and a flood must not fill the host's memory.
            if let Some(dir) = &work_probe
                && dir_bytes(dir, 0) > out_cap as u64
            {
                ctx.data_mut().limit_hit = Some(LimitKind::Output);
                return Ok(UpdateDeadline::Interrupt);
            }
            // Reading the pipe copies it, so look every 10th tick: a flood stops within ~100 ms.
            if ticks.is_multiple_of(10) && out_probe.contents().len() > out_cap {
                ctx.data_mut().limit_hit = Some(LimitKind::Output);
                return Ok(UpdateDeadline::Interrupt);
            }
            let slept = Duration::from_nanos(ctx.data().slept_ns);
            if started.elapsed() + slept > wall {
                ctx.data_mut().limit_hit = Some(LimitKind::Wall);
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Continue(1))
        });
        let exit = run_entry(&mut store, pre, input.entry);
        if let Some((link, side)) = link {
            link.close(side);
        }
        let workdir_over = files.workdir.as_ref().is_some_and(|dir| dir_bytes(dir, 0) > out_cap as u64);
        let elapsed = started.elapsed();
        let fuel = limits.fuel - store.get_fuel().unwrap_or(0);
        let guest = store.data();
        let stdout = out_probe_contents(&stdout);
        let cut = link.and_then(|(link, side)| link.cut(side));
        let exit = match (exit, guest.limit_hit, cut) {
            (_, _, Some(Cut::Deadlock)) => Exit::Limit(LimitKind::Idle),
            (_, _, Some(Cut::Wall)) => Exit::Limit(LimitKind::Wall),
            (_, _, Some(Cut::Output)) => Exit::Limit(LimitKind::Output),
            (_, _, Some(Cut::Stopped)) => Exit::Trap("stopped by the judge: the interactor's verdict was final".into()),
            (_, Some(limit), None) => Exit::Limit(limit),
            (exit, None, None) if stdout.len() > out_cap || workdir_over => {
                let _ = exit;
                Exit::Limit(LimitKind::Output)
            }
            (exit, None, None) => exit,
        };
        Ok(RunOutput {
            exit,
            stdout,
            stderr: stderr.contents().to_vec(),
            fuel,
            wall: elapsed,
            slept: Duration::from_nanos(guest.slept_ns),
            peak_memory: guest.limiter.peak as u64,
            memory_refused: guest.limiter.refused,
            finished: guest.finished,
            emitted: guest.emitted.clone(),
            workdir_files: files.read_workdir(limits.output_bytes as usize),
        })
    }
}

thread_local! {
    /// This thread's run directory (see [`RunFiles`]); removed when the thread ends.
    static RUN_DIR: std::cell::RefCell<Option<tempfile::TempDir>> = const { std::cell::RefCell::new(None) };
}

/// Where run directories live: tmpfs (`/dev/shm`) when the host has a writable one, else the
/// system temporary directory. Creating and removing files there costs a few microseconds; on
/// ext4 a fresh directory per test cost more than running the test.
fn run_dir_base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() && tempfile::Builder::new().prefix("rlvr-probe-").tempdir_in(shm).is_ok() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
}

/// The files of one run, in `/.rlvr` of the guest: `stdin` and the run's own files, in a directory
/// that belongs to the calling thread and is reused run after run (a judge runs every test of a
/// sample on one thread). Dropping it removes the run's own files and its scratch directory, so
/// nothing of one run (a checker's expected output) is ever visible to the next; `stdin` is
/// rewritten by every run.
struct RunFiles {
    /// The directory mapped to `/.rlvr`.
    dir: PathBuf,
    /// Names of the run's own files in `dir`.
    names: Vec<PathBuf>,
    /// A fresh writable directory for `/tmp`, when the run asked for one.
    scratch: Option<PathBuf>,
    /// The run's [`Workdir`] on the host, when it has one.
    workdir: Option<PathBuf>,
}

impl RunFiles {
    /// This thread's run directory, made when the thread has none or when `fresh`.
    fn thread_root(fresh: bool) -> std::io::Result<PathBuf> {
        RUN_DIR.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() || fresh {
                let dir = tempfile::Builder::new().prefix("rlvr-run-").tempdir_in(run_dir_base())?;
                std::fs::create_dir(dir.path().join("rlvr"))?;
                *slot = Some(dir);
            }
            Ok(slot.as_ref().map(|d| d.path().to_path_buf()).unwrap_or_default())
        })
    }

    /// Places the run's files; `stdin_file`: write `stdin` (else remove it, so that the guest
    /// runtime keeps fd 0 as the WASI stdin stream, a pipe of an interactive test).
    fn place(input: &RunInput<'_>, stdin_file: bool) -> Result<RunFiles, SandboxError> {
        let io = |e: std::io::Error| SandboxError::Io(e.to_string());
        let mut root = Self::thread_root(false).map_err(io)?;
        let placed = |root: &Path| {
            let path = root.join("rlvr/stdin");
            if stdin_file {
                std::fs::write(&path, input.stdin)
            } else {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => root.join("rlvr").metadata().map(|_| ()),
                    other => other,
                }
            }
        };
        if placed(&root).is_err() {
            // The directory went away under us (a temp cleaner): start a fresh one.
            root = Self::thread_root(true).map_err(io)?;
            placed(&root).map_err(io)?;
        }
        let dir = root.join("rlvr");
        let mut files = RunFiles { dir, names: Vec::new(), scratch: None, workdir: None };
        for (name, bytes) in input.files {
            let path = files.dir.join(name);
            std::fs::write(&path, bytes).map_err(io)?;
            files.names.push(path);
        }
        if input.scratch {
            let scratch = root.join("tmp");
            // A scratch left by a run that never dropped its files (a panic) is not reused.
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir(&scratch).map_err(io)?;
            files.scratch = Some(scratch);
        }
        Ok(files)
    }
}

impl RunFiles {
    fn place_workdir(&mut self, workdir: &Workdir<'_>) -> Result<(), SandboxError> {
        let io = |e: std::io::Error| SandboxError::Io(e.to_string());
        let dir = self.dir.parent().unwrap_or(&self.dir).join("work");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(io)?;
        self.workdir = Some(dir.clone());
        for (name, bytes) in workdir.files {
            std::fs::write(dir.join(name), bytes).map_err(io)?;
        }
        Ok(())
    }

    /// The regular files of the workdir (not following links), sorted by name, `cap` bytes in all.
    fn read_workdir(&self, cap: usize) -> Vec<(String, Vec<u8>)> {
        let Some(dir) = &self.workdir else { return Vec::new() };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map(|rd| rd.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_file())).collect())
            .unwrap_or_default();
        entries.sort_by_key(|e| e.file_name());
        let mut left = cap;
        let mut out = Vec::new();
        for entry in entries {
            let Ok(file) = std::fs::File::open(entry.path()) else { continue };
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(file, left as u64 + 1), &mut bytes);
            bytes.truncate(left);
            left -= bytes.len();
            out.push((entry.file_name().to_string_lossy().into_owned(), bytes));
        }
        out
    }
}

impl Drop for RunFiles {
    fn drop(&mut self) {
        if let Some(workdir) = &self.workdir {
            let _ = std::fs::remove_dir_all(workdir);
        }
        for path in &self.names {
            let _ = std::fs::remove_file(path);
        }
        if let Some(scratch) = &self.scratch {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// Bytes of the regular files under `dir` (at most 8 levels deep; links are not followed).
fn dir_bytes(dir: &Path, depth: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut total = 0u64;
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
            Ok(t) if t.is_dir() && depth < 8 => total += dir_bytes(&entry.path(), depth + 1),
            _ => {}
        }
    }
    total
}

fn out_probe_contents(pipe: &MemoryOutputPipe) -> Vec<u8> {
    pipe.contents().to_vec()
}

fn run_entry(store: &mut Store<Guest>, pre: &InstancePre<Guest>, entry: Entry) -> Exit {
    let instance = match pre.instantiate(&mut *store) {
        Ok(instance) => instance,
        Err(e) => return classify(store, e, false),
    };
    match entry {
        Entry::Command => {
            let start = match instance.get_typed_func::<(), ()>(&mut *store, "_start") {
                Ok(f) => f,
                Err(e) => return Exit::Trap(format!("module has no `_start`: {e}")),
            };
            match start.call(&mut *store, ()) {
                Ok(()) => Exit::Status(0),
                Err(e) => classify(store, e, false),
            }
        }
        Entry::Reactor => {
            if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize")
                && let Err(e) = init.call(&mut *store, ())
            {
                return classify(store, e, true);
            }
            let main = ["__main_void", "rlvr_main"]
                .iter()
                .find_map(|name| instance.get_typed_func::<(), i32>(&mut *store, name).ok());
            let Some(main) = main else {
                return Exit::Trap("module exports no main function".into());
            };
            match main.call(&mut *store, ()) {
                Ok(value) => Exit::Returned(value),
                Err(e) => classify(store, e, false),
            }
        }
    }
}

fn classify(store: &mut Store<Guest>, error: wasmtime::Error, during_init: bool) -> Exit {
    if let Some(limit) = store.data().limit_hit {
        return Exit::Limit(limit);
    }
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return if during_init { Exit::ExitedEarly(exit.0) } else { Exit::Status(exit.0) };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Exit::Limit(LimitKind::Fuel),
            Trap::Interrupt => Exit::Limit(LimitKind::Wall),
            Trap::StackOverflow => Exit::Limit(LimitKind::Stack),
            other => {
                if store.data().limiter.refused
                    && matches!(other, Trap::MemoryOutOfBounds | Trap::UnreachableCodeReached)
                {
                    Exit::Limit(LimitKind::Memory)
                } else {
                    Exit::Trap(format!("{other}"))
                }
            }
        };
    }
    let message = format!("{error:#}");
    if store.data().limiter.refused || message.contains("memory") && message.contains("limit") {
        return Exit::Limit(LimitKind::Memory);
    }
    Exit::Trap(message)
}

/// `poll_oneoff` with virtual time: clock subscriptions complete at once and their duration is
/// added to the run's slept time (past `wall_ms` the run stops with a wall-clock TLE); fd
/// subscriptions are always ready (stdin is a regular file, stdout/stderr are memory pipes).
fn poll_oneoff(
    mut caller: Caller<'_, Guest>,
    subs: i32,
    events: i32,
    nsubs: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    const EINVAL: i32 = 28;
    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
        return Ok(EINVAL);
    };
    let n = nsubs as u32 as usize;
    if n == 0 {
        return Ok(EINVAL);
    }
    let data = memory.data(&caller);
    let start = subs as u32 as usize;
    let Some(raw) = data.get(start..start.saturating_add(n.saturating_mul(48))) else {
        return Ok(EINVAL);
    };
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    let now = caller.data().clock.load(Ordering::Relaxed);
    // (userdata, tag, wait in ns for clocks)
    let mut parsed = Vec::with_capacity(n);
    for i in 0..n {
        let s = &raw[i * 48..i * 48 + 48];
        let userdata = u64_at(s, 0);
        let tag = s[8];
        let wait = if tag == 0 {
            let timeout = u64_at(s, 24);
            let flags = u16::from_le_bytes([s[40], s[41]]);
            if flags & 1 == 1 { timeout.saturating_sub(now) } else { timeout }
        } else {
            0
        };
        parsed.push((userdata, tag, wait));
    }
    let any_fd = parsed.iter().any(|p| p.1 != 0);
    let min_wait = parsed.iter().filter(|p| p.1 == 0).map(|p| p.2).min().unwrap_or(0);
    let ready: Vec<&(u64, u8, u64)> =
        parsed.iter().filter(|p| if any_fd { p.1 != 0 } else { p.2 <= min_wait }).collect();
    let mut out = Vec::with_capacity(ready.len() * 32);
    for (userdata, tag, _) in &ready {
        let mut ev = [0u8; 32];
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        ev[10] = *tag;
        if *tag != 0 {
            ev[16..24].copy_from_slice(&1u64.to_le_bytes());
        }
        out.extend_from_slice(&ev);
    }
    let (ev_start, count_at) = (events as u32 as usize, nevents as u32 as usize);
    let data = memory.data_mut(&mut caller);
    let Some(dst) = data.get_mut(ev_start..ev_start.saturating_add(out.len())) else {
        return Ok(EINVAL);
    };
    dst.copy_from_slice(&out);
    let Some(dst) = data.get_mut(count_at..count_at.saturating_add(4)) else {
        return Ok(EINVAL);
    };
    dst.copy_from_slice(&(ready.len() as u32).to_le_bytes());
    if !any_fd {
        let guest = caller.data_mut();
        guest.clock.fetch_add(min_wait, Ordering::Relaxed);
        guest.slept_ns = guest.slept_ns.saturating_add(min_wait);
        if guest.slept_ns > guest.wall_limit_ns {
            guest.limit_hit = Some(LimitKind::Wall);
            return Err(wasmtime::format_err!("slept past the wall-clock limit"));
        }
    }
    Ok(0)
}

/// Writes a file by renaming a temporary sibling into place, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Runs `f` on a fresh thread with [`RUN_THREAD_STACK`] of stack (guest code needs a deep native stack).
pub fn on_big_stack<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, String> {
    // A caller inside an admission slot keeps it on the guest thread (no second slot).
    let admitted = super::admission::is_admitted();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("rlvr-guest".into())
            .stack_size(RUN_THREAD_STACK)
            .spawn_scoped(scope, move || if admitted { super::admission::admitted(f) } else { f() })
            .map_err(|e| format!("cannot start a guest thread: {e}"))?
            .join()
            .map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "guest thread panicked".into())
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::lang::{BuildContext, language};

    /// Runs on one thread share its directory; a directory that vanished (a temp cleaner) is
    /// replaced, and nothing but `stdin` outlives a run.
    #[test]
    fn runs_reuse_the_thread_directory_and_survive_its_removal() {
        let sandbox = Sandbox::global().expect("the sandbox starts");
        let limits = CodeLimits::default();
        let cx = BuildContext { sandbox, limits: &limits };
        let python = language("python").expect("python is a language");
        let program = python
            .build_main(&cx, "print(input())")
            .expect("the CPython runtime is installed (.ci/install-code-runtimes.sh)");
        on_big_stack(|| {
            let run = |stdin: &[u8]| {
                let input = RunInput {
                    args: &program.args,
                    stdin,
                    files: &program.files,
                    ro_dirs: &program.ro_dirs,
                    scratch: false,
                    entry: program.entry,
                };
                sandbox.run(&program.module, &input, &limits).expect("the run starts").stdout
            };
            assert_eq!(run(b"first\n"), b"first\n");
            let root = RunFiles::thread_root(false).expect("this thread has a run directory");
            assert_eq!(run(b"again\n"), b"again\n");
            assert_eq!(RunFiles::thread_root(false).expect("still there"), root, "reused, not made anew");
            std::fs::remove_dir_all(&root).expect("removable");
            assert_eq!(run(b"second\n"), b"second\n");
            let fresh = RunFiles::thread_root(false).expect("a fresh run directory");
            assert_ne!(fresh, root);
            let left: Vec<_> = std::fs::read_dir(fresh.join("rlvr"))
                .expect("readable")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(left, ["stdin"], "a run's own files are removed after it");
        })
        .expect("the guest thread runs");
    }
}
