//! Interactive problems: the submission and an interactor run as two sandboxed guests whose stdin
//! and stdout are crossed pipes (a [`Link`]), and the interactor's verdict decides the test.
//!
//! # The link
//! Each direction is an in-memory pipe of [`PIPE_BYTES`] (Linux's default capacity). A write waits
//! while the pipe is full, so a flood goes only as fast as its reader and what a writer sends never
//! depends on timing; everything a side writes counts against its output limit,
//! [`super::CodeLimits::output_bytes`] (past it: OLE). A read waits until bytes arrive or the other
//! side exits (end of file). A wait also ends at:
//! * **deadlock**: both guests wait to read from empty pipes, or both to write into full ones: both
//!   stop at once and the test is a time-out with the limit `idle` (Codeforces' "idleness limit
//!   exceeded"), never a hang;
//! * the pair's wall-clock backstop ([`super::CodeLimits::wall_ms`], one deadline for both);
//! * the judge stopping the submission because the interactor's verdict is already final.
//!
//! A write to a side that has exited fails (`EIO`; a native judge would send `SIGPIPE`).
//!
//! # Budgets
//! Both guests hold their admission slots together ([`super::admission::Admission::acquire_many`])
//! and share the wall-clock backstop. Fuel and memory are per guest: the program gets the sample's
//! limits, the interactor the same but at least the default fuel and memory (a judge must not fail
//! because a sample tightened its program's budget). A pooled budget would make the program's
//! verdict depend on how the two interleave and on the interactor's own cost; problemtools, too,
//! gives the validator its own memory limit.
//!
//! # Verdicts
//! As problemtools' `_run_interactive` decides them, for every convention: an interactor that fails
//! itself (crash, its own limit, an exit status its convention does not define, testlib FAIL) is a
//! judge error; an interactor that rejects and exited first gives `WA`, whatever the submission
//! did afterwards; then the submission's own failure (`TLE`, `MLE`, `OLE`, `RE`); then the
//! interactor's verdict (and, for testlib with a `checker`, the checker's verdict on `tout`).
//!
//! | convention | interactor argv | files | accepts |
//! |---|---|---|---|
//! | `rlvr` (default) | `input answer` | | exit 0 |
//! | `testlib` | `input tout answer` | writes `tout`, judged by `checker` when one is given | exit 0 (1 WA, 2/4 PE, 7 points, 3 FAIL) |
//! | `kattis` | `input answer feedback_dir/` | feedback files quoted in the message | exit 42 (43 WA) |

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError, StreamResult};

use super::checker::{self, Convention};
use super::lang::Program;
use super::sandbox::{Exit, LimitKind, RUN_THREAD_STACK, RunInput, RunOutput, Sandbox, Workdir};
use super::{CodeLimits, Decision, TestResult, TestVerdict, admission};

/// One end of a [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The submission.
    Program,
    /// The interactor.
    Interactor,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Program => 0,
            Side::Interactor => 1,
        }
    }

    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::Program => Side::Interactor,
            Side::Interactor => Side::Program,
        }
    }
}

/// Why the link stopped a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Both guests waited to read with nothing on the way.
    Deadlock,
    /// The pair's wall-clock deadline passed while the guest waited.
    Wall,
    /// The guest wrote more than its output limit.
    Output,
    /// The judge stopped it ([`Link::stop`]): the other side's verdict is final.
    Stopped,
}

/// Bytes a pipe holds before its writer waits (Linux's default pipe capacity): a flood waits for the
/// reader instead of racing it, so what a writer manages to send never depends on timing.
pub const PIPE_BYTES: usize = 64 << 10;

/// What a side waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Bytes to read.
    Read,
    /// Room in its peer's pipe.
    Write,
}

#[derive(Debug)]
struct State {
    /// Bytes on their way to side `i`.
    to: [VecDeque<u8>; 2],
    /// Bytes side `i` has written.
    written: [u64; 2],
    /// Whether side `i` still runs (its ends are open).
    open: [bool; 2],
    /// What side `i` waits for, if it waits.
    waiting: [Option<Wait>; 2],
    /// Why the link stopped side `i`, if it did.
    cut: [Option<Cut>; 2],
    /// Sides in the order they exited.
    exits: Vec<Side>,
}

/// Two crossed pipes between a submission and its interactor, with deadlock detection.
#[derive(Debug)]
pub struct Link {
    state: Mutex<State>,
    changed: Condvar,
    deadline: Instant,
    output_cap: u64,
}

impl Link {
    /// A link whose waits end at `wall` from now, each side writing at most `output_cap` bytes.
    pub fn new(wall: Duration, output_cap: u64) -> Arc<Link> {
        Arc::new(Link {
            state: Mutex::new(State {
                to: [VecDeque::new(), VecDeque::new()],
                written: [0; 2],
                open: [true; 2],
                waiting: [None; 2],
                cut: [None; 2],
                exits: Vec::new(),
            }),
            changed: Condvar::new(),
            deadline: Instant::now() + wall,
            output_cap,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing between two updates of the state can panic, so a poisoned lock is consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn trap(cut: Cut) -> StreamError {
        StreamError::trap(match cut {
            Cut::Deadlock => "deadlock: the program and the interactor both wait for each other",
            Cut::Wall => "wall-clock limit while waiting on a pipe",
            Cut::Output => "output limit",
            Cut::Stopped => "stopped: the interactor's verdict is final",
        })
    }

    /// Waits until `side` can go on: `Read`, bytes to read (or end of file: `Closed`); `Write`, room
    /// in its peer's pipe (or no reader: `Closed`). A stop is a `Trap`. Returns the lock, held.
    fn wait(&self, side: Side, want: Wait) -> Result<MutexGuard<'_, State>, StreamError> {
        let (me, peer) = (side.index(), side.peer().index());
        let mut state = self.lock();
        loop {
            if let Some(cut) = state.cut[me] {
                return Err(Self::trap(cut));
            }
            // Bytes already sent are still read after the writer exits; a write needs a reader.
            match want {
                Wait::Read if !state.to[me].is_empty() => return Ok(state),
                Wait::Write if state.open[peer] && state.to[peer].len() < PIPE_BYTES => return Ok(state),
                _ if !state.open[peer] => return Err(StreamError::Closed),
                _ => {}
            }
            // Both read from empty pipes, or both write into full ones: neither can go on.
            let stuck = match (want, state.waiting[peer]) {
                (Wait::Read, Some(Wait::Read)) => state.to[peer].is_empty(),
                (Wait::Write, Some(Wait::Write)) => state.to[me].len() >= PIPE_BYTES,
                _ => false,
            };
            if stuck {
                state.cut = [Some(Cut::Deadlock); 2];
                self.changed.notify_all();
                return Err(Self::trap(Cut::Deadlock));
            }
            let now = Instant::now();
            if now >= self.deadline {
                state.cut[me] = Some(Cut::Wall);
                return Err(Self::trap(Cut::Wall));
            }
            state.waiting[me] = Some(want);
            state = self.changed.wait_timeout(state, self.deadline - now).unwrap_or_else(|p| p.into_inner()).0;
            state.waiting[me] = None;
        }
    }

    fn take(&self, state: &mut State, side: Side, max: usize) -> Bytes {
        let queue = &mut state.to[side.index()];
        let n = max.min(queue.len());
        let bytes: Vec<u8> = queue.drain(..n).collect();
        // Room in the pipe: a writer waiting for it may go on.
        self.changed.notify_all();
        bytes.into()
    }

    /// Reads at most `max` bytes for `side`, waiting for at least one.
    pub fn read(&self, side: Side, max: usize) -> StreamResult<Bytes> {
        let mut state = self.wait(side, Wait::Read)?;
        Ok(self.take(&mut state, side, max))
    }

    /// Reads what is there for `side` without waiting (empty when nothing is).
    pub fn try_read(&self, side: Side, max: usize) -> StreamResult<Bytes> {
        let mut state = self.lock();
        let me = side.index();
        if let Some(cut) = state.cut[me] {
            return Err(Self::trap(cut));
        }
        if state.to[me].is_empty() {
            return if state.open[side.peer().index()] { Ok(Bytes::new()) } else { Err(StreamError::Closed) };
        }
        Ok(self.take(&mut state, side, max))
    }

    /// Sends all of `bytes` from `side` to its peer, waiting for room as a pipe writer does.
    pub fn write(&self, side: Side, mut bytes: &[u8]) -> StreamResult<()> {
        let (me, peer) = (side.index(), side.peer().index());
        while !bytes.is_empty() {
            let mut state = self.wait(side, Wait::Write)?;
            let n = bytes.len().min(PIPE_BYTES - state.to[peer].len());
            state.written[me] += n as u64;
            if state.written[me] > self.output_cap {
                state.cut[me] = Some(Cut::Output);
                return Err(Self::trap(Cut::Output));
            }
            state.to[peer].extend(&bytes[..n]);
            bytes = &bytes[n..];
            drop(state);
            self.changed.notify_all();
        }
        Ok(())
    }

    /// How many bytes `side` may write without waiting (`Closed` once its peer has exited).
    pub fn writable(&self, side: Side) -> StreamResult<usize> {
        let state = self.lock();
        if let Some(cut) = state.cut[side.index()] {
            return Err(Self::trap(cut));
        }
        if !state.open[side.peer().index()] {
            return Err(StreamError::Closed);
        }
        Ok(PIPE_BYTES.saturating_sub(state.to[side.peer().index()].len()))
    }

    /// Waits until `side` may write (see [`Link::writable`]).
    fn wait_writable(&self, side: Side) {
        drop(self.wait(side, Wait::Write));
    }

    /// Marks `side` as exited: its peer reads end of file once the queue is empty.
    pub fn close(&self, side: Side) {
        let mut state = self.lock();
        if state.open[side.index()] {
            state.open[side.index()] = false;
            state.exits.push(side);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Stops `side`: its next read or write (or, in guest code, the next epoch tick) ends its run.
    pub fn stop(&self, side: Side) {
        let mut state = self.lock();
        if state.open[side.index()] && state.cut[side.index()].is_none() {
            state.cut[side.index()] = Some(Cut::Stopped);
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Why the link stopped `side`, if it did.
    pub fn cut(&self, side: Side) -> Option<Cut> {
        self.lock().cut[side.index()]
    }

    /// The side that exited first, once one has.
    pub fn first_exit(&self) -> Option<Side> {
        self.lock().exits.first().copied()
    }

    /// The guest stdin of `side`.
    pub fn stdin(self: &Arc<Self>, side: Side) -> LinkStdin {
        LinkStdin(End { link: self.clone(), side })
    }

    /// The guest stdout of `side`.
    pub fn stdout(self: &Arc<Self>, side: Side) -> LinkStdout {
        LinkStdout(End { link: self.clone(), side })
    }
}

/// One side's handle on a link.
#[derive(Debug, Clone)]
struct End {
    link: Arc<Link>,
    side: Side,
}

/// The stdin a linked guest reads (what its peer writes).
#[derive(Debug, Clone)]
pub struct LinkStdin(End);

/// The stdout a linked guest writes (what its peer reads).
#[derive(Debug, Clone)]
pub struct LinkStdout(End);

impl IsTerminal for LinkStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl IsTerminal for LinkStdout {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for LinkStdin {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(Reader(self.0.clone()))
    }
    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(Reader(self.0.clone()))
    }
}

impl StdoutStream for LinkStdout {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(Writer(self.0.clone()))
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(Writer(self.0.clone()))
    }
}

/// Reads block the guest's thread: every guest runs on a thread of its own (never a tokio worker),
/// and the link's deadline bounds each wait.
struct Reader(End);

struct Writer(End);

#[wasmtime_wasi::async_trait]
impl Pollable for Reader {
    async fn ready(&mut self) {
        // Readiness is "a read would not block": bytes, end of file, or a stop.
        drop(self.0.link.wait(self.0.side, Wait::Read));
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for Reader {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.0.link.try_read(self.0.side, size)
    }

    async fn blocking_read(&mut self, size: usize) -> StreamResult<Bytes> {
        self.0.link.read(self.0.side, size.max(1))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Writer {
    async fn ready(&mut self) {
        // Readiness is "a write would not block": room in the pipe, no reader, or a stop.
        self.0.link.wait_writable(self.0.side);
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Writer {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.0.link.write(self.0.side, &bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.0.link.writable(self.0.side)
    }
}

fn io_error(e: StreamError) -> io::Error {
    match e {
        StreamError::Closed => io::Error::from(io::ErrorKind::BrokenPipe),
        other => io::Error::other(other.to_string()),
    }
}

impl AsyncRead for Reader {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        match self.0.link.read(self.0.side, buf.remaining()) {
            Ok(bytes) => {
                buf.put_slice(&bytes);
                Poll::Ready(Ok(()))
            }
            Err(StreamError::Closed) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(io_error(e))),
        }
    }
}

impl AsyncWrite for Writer {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(self.0.link.write(self.0.side, buf).map(|()| buf.len()).map_err(io_error))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs test `index` of an interactive sample: `program` and `interactor` linked, judged by the
/// interactor's `convention` (and by `checker`, testlib's judge of `tout`, when there is one).
/// `Err` is a judge error: the interactor (or the checker) failed itself.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_test(
    sandbox: &Sandbox,
    program: &Program,
    interactor: &Program,
    convention: Convention,
    checker: Option<&Program>,
    input: &str,
    answer: &str,
    limits: &CodeLimits,
    index: usize,
) -> Result<TestResult, String> {
    let (input, answer) = (checker::normalize(input), checker::normalize(answer));
    let mut files = interactor.files.clone();
    files.push(("input".into(), input.as_bytes().to_vec()));
    files.push(("answer".into(), answer.as_bytes().to_vec()));
    let mut args = interactor.args.clone();
    let workdir = match convention {
        Convention::Rlvr => {
            args.extend(["/.rlvr/input", "/.rlvr/answer"].map(String::from));
            None
        }
        Convention::Testlib => {
            args.extend(["/.rlvr/input", TOUT, "/.rlvr/answer"].map(String::from));
            Some(Workdir { guest: TOUT_DIR, files: &[] })
        }
        Convention::Kattis => {
            args.extend(["/.rlvr/input", "/.rlvr/answer", "/feedback/"].map(String::from));
            Some(Workdir { guest: "/feedback", files: &[] })
        }
        Convention::OpenR1 => {
            return Err("an interactor cannot use the open_r1 convention (it is a checker's: it judges a finished \
                        output); use rlvr, testlib or kattis"
                .into());
        }
    };
    let interactor_input = RunInput {
        args: &args,
        stdin: b"",
        files: &files,
        ro_dirs: &interactor.ro_dirs,
        scratch: false,
        entry: interactor.entry,
    };
    let program_input = RunInput {
        args: &program.args,
        stdin: b"",
        files: &program.files,
        ro_dirs: &program.ro_dirs,
        scratch: false,
        entry: program.entry,
    };
    // A judge program must not fail because a sample tightened its program's budget.
    let defaults = CodeLimits::default();
    let judge_limits = CodeLimits {
        fuel: limits.fuel.max(defaults.fuel),
        memory_bytes: limits.memory_bytes.max(defaults.memory_bytes),
        ..*limits
    };
    // Both guests must run at once to make progress: their slots are taken together.
    // The slots go back before the checker runs (it takes its own).
    let slot = admission::global().acquire_many(2, None).map_err(|e| e.to_string())?;
    let link = Link::new(Duration::from_millis(limits.wall_ms), limits.output_bytes);
    let runs = slot.enter(|| {
        std::thread::scope(|scope| {
            let peer = std::thread::Builder::new()
                .name("rlvr-interactor".into())
                .stack_size(RUN_THREAD_STACK)
                .spawn_scoped(scope, || {
                    admission::admitted(|| {
                        let out = sandbox.run_linked(
                            &interactor.module,
                            &interactor_input,
                            &judge_limits,
                            workdir.as_ref(),
                            &link,
                            Side::Interactor,
                        );
                        // A rejection (or a judge error) given first is final: stop the program.
                        let accepted = out.as_ref().is_ok_and(|out| {
                            checker::decide(convention, out).is_ok_and(|o| o.verdict == TestVerdict::AC)
                        });
                        if !accepted && link.first_exit() == Some(Side::Interactor) {
                            link.stop(Side::Program);
                        }
                        out
                    })
                })
                .map_err(|e| format!("cannot start the interactor's thread: {e}"))?;
            let program_out = sandbox.run_linked(&program.module, &program_input, limits, None, &link, Side::Program);
            let interactor_out = peer.join().map_err(|_| "the interactor's thread panicked".to_string())?;
            Ok::<_, String>((program_out.map_err(|e| e.to_string())?, interactor_out.map_err(|e| e.to_string())?))
        })
    });
    drop(slot);
    let (program_out, interactor_out) = runs?;
    let first = link.first_exit();
    let mut points = None;
    let decision = decide(convention, &program_out, &interactor_out, first, |tout| {
        let Some(checker) = checker else { return Ok(None) };
        let outcome = checker::check(sandbox, checker, Convention::Testlib, &input, tout, &answer, limits)?;
        points = outcome.points;
        Ok(Some((outcome.verdict, outcome.message)))
    })?;
    Ok(TestResult::of_run(index, decision, &program_out, points))
}

/// Where a testlib interactor writes `tout` (a fresh writable directory of its run).
const TOUT_DIR: &str = "/judge";
const TOUT: &str = "/judge/tout";

/// The verdict of one interactive test from both runs (see the module docs for the order);
/// `check_tout` judges a testlib interactor's `tout` when a checker is given.
fn decide(
    convention: Convention,
    program: &RunOutput,
    interactor: &RunOutput,
    first: Option<Side>,
    check_tout: impl FnOnce(&str) -> Result<Option<(TestVerdict, Option<String>)>, String>,
) -> Result<Decision, String> {
    if matches!(program.exit, Exit::Limit(LimitKind::Idle)) || matches!(interactor.exit, Exit::Limit(LimitKind::Idle)) {
        let message = "deadlock: the program and the interactor both waited for input (idleness limit; \
                       did the program flush its output?)";
        return Ok((TestVerdict::TLE, Some(LimitKind::Idle), Some(message.into())));
    }
    // Both ran into the pair's wall-clock deadline: the program's time-out, not the interactor's fault.
    if matches!(interactor.exit, Exit::Limit(LimitKind::Wall))
        && let Some(failed) = super::failure(program)
    {
        return Ok(failed);
    }
    let said = checker::decide(convention, interactor).map_err(|e| e.replacen("checker", "interactor", 1))?;
    if said.verdict != TestVerdict::AC && first == Some(Side::Interactor) {
        return Ok((said.verdict, None, said.message));
    }
    if let Some(failed) = super::failure(program) {
        return Ok(failed);
    }
    if said.verdict != TestVerdict::AC {
        return Ok((said.verdict, None, said.message));
    }
    if convention == Convention::Testlib {
        let tout = interactor.workdir_files.iter().find(|(name, _)| name == "tout").map(|(_, bytes)| bytes);
        let tout = String::from_utf8_lossy(tout.map_or(&[][..], |b| b.as_slice()));
        if let Some((verdict, message)) = check_tout(&tout)? {
            return Ok((verdict, None, message));
        }
    }
    Ok((TestVerdict::AC, None, said.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    #[test]
    fn bytes_cross_and_end_of_file_follows_exit() {
        let link = Link::new(LONG, 1 << 20);
        link.write(Side::Program, b"7\n").unwrap();
        assert_eq!(&link.read(Side::Interactor, 64).unwrap()[..], b"7\n");
        link.write(Side::Interactor, b"lower\n").unwrap();
        link.close(Side::Interactor);
        assert_eq!(&link.read(Side::Program, 3).unwrap()[..], b"low");
        assert_eq!(&link.read(Side::Program, 64).unwrap()[..], b"er\n");
        assert!(matches!(link.read(Side::Program, 64), Err(StreamError::Closed)), "end of file after the exit");
        assert!(matches!(link.write(Side::Program, b"x"), Err(StreamError::Closed)), "no reader: the write fails");
        assert_eq!(link.first_exit(), Some(Side::Interactor));
    }

    /// Both sides reading with nothing on the way is detected on the second read, for both.
    #[test]
    fn a_deadlock_stops_both_sides() {
        let link = Link::new(LONG, 1 << 20);
        let started = Instant::now();
        let peer = {
            let link = link.clone();
            std::thread::spawn(move || link.read(Side::Interactor, 1).map(|_| ()))
        };
        while link.lock().waiting[Side::Interactor.index()].is_none() {
            std::thread::yield_now();
        }
        assert!(matches!(link.read(Side::Program, 1), Err(StreamError::Trap(_))));
        assert!(matches!(peer.join().unwrap(), Err(StreamError::Trap(_))));
        assert_eq!((link.cut(Side::Program), link.cut(Side::Interactor)), (Some(Cut::Deadlock), Some(Cut::Deadlock)));
        assert!(started.elapsed() < Duration::from_secs(5), "detected, not timed out");
    }

    /// A pending byte for the waiting side is not a deadlock.
    #[test]
    fn bytes_on_the_way_are_not_a_deadlock() {
        let link = Link::new(LONG, 1 << 20);
        let peer = {
            let link = link.clone();
            std::thread::spawn(move || link.read(Side::Interactor, 8))
        };
        while link.lock().waiting[Side::Interactor.index()].is_none() {
            std::thread::yield_now();
        }
        link.write(Side::Program, b"1\n").unwrap();
        assert!(link.cut(Side::Program).is_none());
        assert_eq!(&peer.join().unwrap().unwrap()[..], b"1\n");
    }

    #[test]
    fn a_wait_ends_at_the_deadline() {
        let link = Link::new(Duration::from_millis(50), 1 << 20);
        assert!(matches!(link.read(Side::Program, 1), Err(StreamError::Trap(_))));
        assert_eq!(link.cut(Side::Program), Some(Cut::Wall));
    }

    /// The output limit: exactly the cap passes, one byte past it stops the writer.
    #[test]
    fn output_cap_boundary() {
        let link = Link::new(LONG, 4);
        link.write(Side::Program, b"1234").unwrap();
        assert!(link.write(Side::Program, b"5").is_err());
        assert_eq!(link.cut(Side::Program), Some(Cut::Output));
        assert!(link.cut(Side::Interactor).is_none());
    }

    /// A full pipe makes its writer wait until the reader makes room; the bytes arrive in order.
    #[test]
    fn a_full_pipe_waits_for_its_reader() {
        let link = Link::new(LONG, 1 << 30);
        let flood: Vec<u8> = (0..3 * PIPE_BYTES).map(|i| (i % 251) as u8).collect();
        let writer = {
            let (link, flood) = (link.clone(), flood.clone());
            std::thread::spawn(move || link.write(Side::Program, &flood))
        };
        let mut got = Vec::new();
        while got.len() < flood.len() {
            got.extend_from_slice(&link.read(Side::Interactor, 1000).unwrap());
            assert!(link.lock().to[Side::Interactor.index()].len() <= PIPE_BYTES, "never more than a pipe's worth");
        }
        writer.join().unwrap().unwrap();
        assert_eq!(got, flood);
    }

    /// Both sides writing into full pipes is a deadlock too.
    #[test]
    fn both_writing_into_full_pipes_is_a_deadlock() {
        let link = Link::new(LONG, 1 << 30);
        let block = vec![b'x'; 2 * PIPE_BYTES];
        let peer = {
            let (link, block) = (link.clone(), block.clone());
            std::thread::spawn(move || link.write(Side::Interactor, &block))
        };
        assert!(matches!(link.write(Side::Program, &block), Err(StreamError::Trap(_))));
        assert!(matches!(peer.join().unwrap(), Err(StreamError::Trap(_))));
        assert_eq!(link.cut(Side::Program), Some(Cut::Deadlock));
    }

    #[test]
    fn a_stopped_side_is_woken() {
        let link = Link::new(LONG, 1 << 20);
        let waiter = {
            let link = link.clone();
            std::thread::spawn(move || link.read(Side::Program, 1).map(|_| ()))
        };
        while link.lock().waiting[Side::Program.index()].is_none() {
            std::thread::yield_now();
        }
        link.stop(Side::Program);
        assert!(matches!(waiter.join().unwrap(), Err(StreamError::Trap(_))));
        assert_eq!(link.cut(Side::Program), Some(Cut::Stopped));
    }
}
