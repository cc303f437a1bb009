//! The trainers' own client code against the real `rlvr serve` binary on a loopback port:
//! OpenRLHF's `/get_reward` request (sharded over two URLs) and slime's `remote_rm`
//! (`testdata/server/trainer_clients.py`), and verl's SandboxFusion client running the same
//! programs at concurrency 1, 8 and 64 (`testdata/server/verdicts_under_load.py`): every level must
//! give the same, expected per-test results on this machine's cores. The Python packages they
//! import are installed by `.ci/install-server-clients.sh`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
    lines: Receiver<String>,
}

impl Server {
    /// Starts `rlvr serve` on 127.0.0.1 port 0 with `slots` sandbox slots and waits for its address.
    fn start(slots: usize) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rlvr"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--shutdown-grace", "10"])
            .env("RLVR_SANDBOX_SLOTS", slots.to_string())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start rlvr serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let started = Instant::now();
        let url = loop {
            let left = Duration::from_secs(60).saturating_sub(started.elapsed());
            let line = lines.recv_timeout(left).unwrap_or_else(|e| panic!("rlvr serve printed no address ({e})"));
            if let Some(rest) = line.strip_prefix("rlvr: listening on ") {
                break rest.split_whitespace().next().expect("an address").to_string();
            }
        };
        assert!(url.starts_with("http://127.0.0.1:"), "binds loopback: {url}");
        Server { child, url, lines }
    }

    fn python(&self, script: &str, args: &[&str]) -> std::process::Output {
        Command::new("python3")
            .arg(format!("{}/testdata/server/{script}", env!("CARGO_MANIFEST_DIR")))
            .args(args)
            .output()
            .expect("python3 runs (and .ci/install-server-clients.sh installed its packages)")
    }

    /// Stops the server with SIGTERM (by its own id) and returns what it logged.
    fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        self.lines.try_iter().collect()
    }
}

fn check(output: &std::process::Output, what: &str, log: &[String]) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}\nserver log: {log:?}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn openrlhf_and_slime_clients_get_the_right_rewards() {
    let server = Server::start(2);
    let out = server.python("trainer_clients.py", &[&server.url]);
    let log = server.stop();
    check(&out, "OpenRLHF/slime client code", &log);
    // The empty label of the last OpenRLHF sample is logged once for its request.
    assert_eq!(log.iter().filter(|l| l.contains("have an empty label")).count(), 1, "{log:?}");
}

/// Issue 17's first item: a correct Python program that needs seconds alone must pass at verl's
/// `run_timeout` 10 when 8 run at once, and concurrency 1, 8 and 64 give identical verdicts.
#[test]
fn verl_client_gets_the_same_verdicts_at_concurrency_1_8_and_64() {
    let server = Server::start(2);
    let run_code = format!("{}/run_code", server.url);
    let out = server.python("verdicts_under_load.py", &[&run_code, "1", "8", "64"]);
    let log = server.stop();
    check(&out, "verl's check_correctness at concurrency 1, 8, 64", &log);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().filter(|l| l.contains("\"results\"")).count(), 3, "{text}");
}
