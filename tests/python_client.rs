//! Starts the real `rlvr serve` binary on a loopback port, drives it with the Python client in
//! `examples/rlvr_client.py` (the one TRL users import), then stops it with SIGTERM and checks that
//! it shuts down cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn python_client_self_test_against_the_real_server() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_rlvr"))
        .args(["serve", "--host", "127.0.0.1", "--port", "0", "--shutdown-grace", "10"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start rlvr serve");
    // Drain stderr on a thread: the server logs each caught panic there, and an unread pipe
    // would block it.
    let stderr = server.stderr.take().expect("stderr is piped");
    let (line_tx, line_rx) = std::sync::mpsc::channel::<String>();
    let drain = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut seen = Vec::new();
    let url = loop {
        let left = Duration::from_secs(30).saturating_sub(started.elapsed());
        let line = line_rx.recv_timeout(left).unwrap_or_else(|e| panic!("no address printed ({e}): {seen:?}"));
        if let Some(rest) = line.strip_prefix("rlvr: listening on ") {
            break rest.split_whitespace().next().expect("an address").to_string();
        }
        seen.push(line);
    };
    assert!(url.starts_with("http://127.0.0.1:"), "binds loopback: {url}");

    let python = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rlvr_client.py"))
        .args(["--self-test", &url, "--expect-math"])
        .output();
    // Stop the server whatever the client did, by its own id.
    let pid = server.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("send SIGTERM");
    assert!(killed.success());
    let status = server.wait().expect("wait for rlvr serve");
    drain.join().expect("stderr reader");
    let rest: Vec<String> = line_rx.try_iter().collect();

    let python = python.expect("python3 is needed to test the Python client");
    assert!(
        python.status.success(),
        "client self-test failed:\n{}\n{}",
        String::from_utf8_lossy(&python.stdout),
        String::from_utf8_lossy(&python.stderr)
    );
    assert!(status.success(), "rlvr serve did not stop cleanly: {status:?}; stderr: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("rlvr: stopped")), "{rest:?}");
}
