//! Running compilers (clang, rustc) on untrusted source, and caching what they produce.
//!
//! A compiler is a large attack surface that reads host files on request (`#include "/etc/passwd"`,
//! `include_str!`), so it runs inside bubblewrap: new namespaces (no network, no PIDs of the host),
//! no environment, and a filesystem made of the read-only system toolchain (`/usr`), the extra
//! read-only toolchain directories a language names (Rust's sysroot, rlvr's headers), and a fresh
//! writable work directory holding only the sources. `/etc`, `/home`, `/root`, `/proc`, the
//! repository and the datasets do not exist in there. The process gets an address-space limit
//! (`compile_memory_bytes`) and a wall-clock limit (`compile_ms`); past either it is killed and the
//! submission gets a compile error saying which limit.
//!
//! Compiled Wasm is cached by the SHA-256 of everything that determines it (language, compiler
//! command, sources, stack size), on disk and in memory; a per-key lock makes a GRPO group of
//! identical submissions compile once. Compile errors are cached the same way.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::limits::CodeLimits;
use super::sandbox::{content_hash, default_cache_dir, hex, write_atomic};

/// Why a build did not produce a program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The submission does not compile (or broke a compile limit): the `CE` verdict.
    #[error("compile error: {0}")]
    Compile(String),
    /// The compiler ran past `compile_ms`: a `CE` too, but never cached, because a wall-clock limit
    /// depends on the machine's load and on the caller's limit, not on the submission alone.
    #[error("compile error: {0}")]
    CompileTimeout(String),
    /// The submission asks for something this verifier does not offer (an error verdict, not CE).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The toolchain or runtime is missing or broken (the operator's problem, never the model's).
    #[error("toolchain: {0}")]
    Toolchain(String),
}

/// A directory mounted read-only into the compiler sandbox: `(host path, path inside)`.
pub type Mount = (PathBuf, String);

/// One compiler invocation inside the sandbox.
#[derive(Debug, Clone)]
pub struct CompileJob<'a> {
    /// Names the language in cache keys and messages.
    pub language: &'static str,
    /// The command line, as seen inside the sandbox (sources are in the working directory `/src`).
    pub argv: Vec<String>,
    /// Files written to `/src`: `(file name, contents)`. The first is the submission (the only one
    /// `source_bytes` counts); the rest are rlvr's (shims, headers, prebuilt runtime objects).
    pub sources: Vec<(String, &'a [u8])>,
    /// The file the compiler writes, relative to `/src`.
    pub output: &'static str,
    /// Extra read-only directories.
    pub mounts: Vec<Mount>,
}

type CacheSlot = Arc<Mutex<Option<Result<Arc<Vec<u8>>, BuildError>>>>;

fn slots() -> &'static Mutex<HashMap<[u8; 32], CacheSlot>> {
    static SLOTS: OnceLock<Mutex<HashMap<[u8; 32], CacheSlot>>> = OnceLock::new();
    SLOTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether bubblewrap is installed (the compiler sandbox needs it).
fn bwrap() -> Result<&'static Path, BuildError> {
    static BWRAP: OnceLock<Option<PathBuf>> = OnceLock::new();
    BWRAP
        .get_or_init(|| ["/usr/bin/bwrap", "/bin/bwrap"].iter().map(PathBuf::from).find(|p| p.exists()))
        .as_deref()
        .ok_or_else(|| {
            BuildError::Toolchain("bubblewrap (`bwrap`) is not installed; run `.ci/install-code-runtimes.sh`".into())
        })
}

/// Compiles, or returns the cached result for the same job.
pub fn compile_cached(job: &CompileJob<'_>, limits: &CodeLimits) -> Result<Arc<Vec<u8>>, BuildError> {
    let total: usize = job.sources.first().map_or(0, |(_, s)| s.len());
    if total as u64 > limits.source_bytes {
        return Err(BuildError::Compile(format!(
            "source is {total} bytes, over the limit of {} bytes (source_bytes)",
            limits.source_bytes
        )));
    }
    let mut parts: Vec<&[u8]> = vec![job.language.as_bytes()];
    let argv = job.argv.join("\u{1f}");
    parts.push(argv.as_bytes());
    for (name, src) in &job.sources {
        parts.push(name.as_bytes());
        parts.push(src);
    }
    // The toolchain's state is part of the key: a compile error caused by a missing or half-installed
    // package (a header not found) must not outlive the repair of that package.
    let toolchain = toolchain_fingerprint(job);
    parts.push(toolchain.as_bytes());
    let key = content_hash(&parts);
    let slot = {
        let mut map = slots().lock().map_err(|_| BuildError::Toolchain("compile cache poisoned".into()))?;
        map.entry(key).or_default().clone()
    };
    let mut guard = slot.lock().map_err(|_| BuildError::Toolchain("compile cache poisoned".into()))?;
    if let Some(done) = guard.as_ref() {
        return done.clone();
    }
    let dir = default_cache_dir().map(|d| d.join("programs"));
    let wasm_path = dir.as_ref().map(|d| d.join(format!("{}.wasm", hex(&key))));
    let ce_path = dir.as_ref().map(|d| d.join(format!("{}.ce", hex(&key))));
    let cached = match (&wasm_path, &ce_path) {
        (Some(w), Some(c)) => std::fs::read(w)
            .map(|b| Ok(Arc::new(b)))
            .or_else(|_| std::fs::read_to_string(c).map(|t| Err(BuildError::Compile(t))))
            .ok(),
        _ => None,
    };
    let result = match cached {
        Some(result) => result,
        None => {
            let result = compile(job, limits).map(Arc::new);
            match (&result, &wasm_path, &ce_path) {
                (Ok(bytes), Some(path), _) => {
                    let _ = write_atomic(path, bytes);
                }
                (Err(BuildError::Compile(text)), _, Some(path)) => {
                    let _ = write_atomic(path, text.as_bytes());
                }
                _ => {}
            }
            result
        }
    };
    // Waiters already holding this slot see the result; later requests read the disk cache, so the
    // in-memory map only holds compilations in flight.
    *guard = Some(result.clone());
    drop(guard);
    if let Ok(mut map) = slots().lock() {
        map.remove(&key);
    }
    result
}

/// Size and modification time of the compiler, of every host directory named on its command line
/// (`-isystem /usr/…`, `-L/usr/…`) and of every mounted directory: installing, upgrading or removing
/// a toolchain package changes at least one of them.
fn toolchain_fingerprint(job: &CompileJob<'_>) -> String {
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    if let Some(driver) = job.argv.first() {
        paths.push(std::path::Path::new("/usr/bin").join(driver));
    }
    for arg in &job.argv {
        let path = arg.strip_prefix("-L").or_else(|| arg.strip_prefix("-I")).unwrap_or(arg);
        if path.starts_with("/usr/") {
            paths.push(path.into());
        }
    }
    paths.extend(job.mounts.iter().map(|(host, _)| host.clone()));
    let mut out = String::new();
    for path in paths {
        let stamp = std::fs::metadata(&path)
            .map(|m| {
                let modified = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                format!("{}:{}", m.len(), modified.map_or(0, |d| d.as_nanos()))
            })
            .unwrap_or_else(|_| "missing".into());
        out.push_str(&format!("{}={stamp};", path.display()));
    }
    out
}

fn compile(job: &CompileJob<'_>, limits: &CodeLimits) -> Result<Vec<u8>, BuildError> {
    let bwrap = bwrap()?;
    let work = tempfile::Builder::new()
        .prefix("rlvr-compile-")
        .tempdir()
        .map_err(|e| BuildError::Toolchain(format!("cannot create a temp dir: {e}")))?;
    for (name, src) in &job.sources {
        let path = work.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BuildError::Toolchain(format!("cannot create {name}: {e}")))?;
        }
        std::fs::write(path, src).map_err(|e| BuildError::Toolchain(format!("cannot write {name}: {e}")))?;
    }
    let mut cmd = Command::new(bwrap);
    cmd.args(["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"])
        .args(["--symlink", "usr/bin", "/bin", "--dev", "/dev", "--tmpfs", "/tmp"])
        .arg("--bind")
        .arg(work.path())
        .arg("/src");
    for (host, inside) in &job.mounts {
        cmd.arg("--ro-bind").arg(host).arg(inside);
    }
    cmd.args(["--chdir", "/src", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv"])
        .args(["--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/src", "--setenv", "TMPDIR", "/tmp"])
        .args(&job.argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Its own process group, so a time-out kills bwrap's inner process too: killed within its first
    // milliseconds, bwrap can leave that process orphaned (holding the stderr pipe) before it has
    // arranged to die with its parent.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let memory = limits.compile_memory_bytes;
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: memory as libc::rlim_t, rlim_max: memory as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| BuildError::Toolchain(format!("cannot start the compiler: {e}")))?;
    let stderr = child.stderr.take();
    let cap = limits.stderr_bytes as usize;
    // Drained on its own thread so a compiler that floods diagnostics never blocks on a full pipe.
    let (sender, diagnostics) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = stderr {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if text.len() < cap {
                    text.extend_from_slice(&buf[..n.min(cap - text.len())]);
                }
            }
        }
        let _ = sender.send(text);
    });
    let deadline = Instant::now() + Duration::from_millis(limits.compile_ms);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                if let Ok(group) = i32::try_from(child.id()) {
                    // SAFETY: kill(2) on our child's process group; no memory is touched.
                    unsafe { libc::kill(-group, libc::SIGKILL) };
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(BuildError::Toolchain(format!("waiting for the compiler: {e}"))),
        }
    };
    // The pipe closes when the last process holding it exits; never wait on a straggler for long.
    let diagnostics = diagnostics.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    let diagnostics = String::from_utf8_lossy(&diagnostics).into_owned();
    let Some(status) = status else {
        return Err(BuildError::CompileTimeout(format!(
            "compilation exceeded the time limit of {} ms (compile_ms)",
            limits.compile_ms
        )));
    };
    if !status.success() {
        if diagnostics.contains("bwrap:") && !diagnostics.contains("error:") {
            return Err(BuildError::Toolchain(format!("compiler sandbox failed: {diagnostics}")));
        }
        let oom = ["out of memory", "Cannot allocate memory", "std::bad_alloc", "memory allocation of"]
            .iter()
            .any(|m| diagnostics.contains(m));
        if oom {
            return Err(BuildError::Compile(format!(
                "compilation exceeded the memory limit of {} bytes (compile_memory_bytes)\n{}",
                limits.compile_memory_bytes,
                tail(&diagnostics, 2000)
            )));
        }
        return Err(BuildError::Compile(tail(&diagnostics, 4000)));
    }
    std::fs::read(work.path().join(job.output))
        .map_err(|e| BuildError::Toolchain(format!("compiler succeeded but wrote no {}: {e}", job.output)))
}

/// The last `max` bytes of a text, on a character boundary.
pub fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}
