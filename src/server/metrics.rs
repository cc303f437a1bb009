//! Server counters in the Prometheus text exposition format (`GET /metrics`).
//!
//! A handful of counters and one latency histogram per endpoint are all a training dashboard needs,
//! so they are kept by hand behind one mutex rather than through a metrics framework: an update is a
//! few map lookups per *request* (not per sample), far below the cost of scoring.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::sample::Verdict;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Default)]
struct Histogram {
    /// Count per bucket of `LATENCY_BUCKETS` (not cumulative), plus one for +Inf.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; LATENCY_BUCKETS.len() + 1];
        }
        let slot = LATENCY_BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: BTreeMap<(&'static str, u16), u64>,
    samples: BTreeMap<&'static str, u64>,
    verdicts: BTreeMap<Verdict, u64>,
    latency: BTreeMap<&'static str, Histogram>,
    rejected: BTreeMap<&'static str, u64>,
    input_warnings: BTreeMap<&'static str, u64>,
}

/// The server's counters; cheap to update from any handler.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

/// A gauge read at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueGauge {
    /// Samples admitted and not yet answered.
    pub depth: usize,
    /// The queue's capacity (`max_queued_samples`).
    pub capacity: usize,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        // A poisoned lock only means a panic elsewhere mid-update; the counters are still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Records one answered request: its endpoint, HTTP status and latency.
    pub fn record_request(&self, endpoint: &'static str, status: u16, latency: Duration) {
        self.with(|c| {
            *c.requests.entry((endpoint, status)).or_default() += 1;
            c.latency.entry(endpoint).or_default().observe(latency.as_secs_f64());
        });
    }

    /// Records the verdicts of one scored batch.
    pub fn record_verdicts(&self, endpoint: &'static str, verdicts: impl IntoIterator<Item = Verdict>) {
        self.with(|c| {
            let mut n = 0;
            for v in verdicts {
                *c.verdicts.entry(v).or_default() += 1;
                n += 1;
            }
            *c.samples.entry(endpoint).or_default() += n;
        });
    }

    /// Records a request turned away before scoring (`body_too_large`, `queue_full`, `deadline`, …).
    pub fn record_rejection(&self, reason: &'static str) {
        self.with(|c| *c.rejected.entry(reason).or_default() += 1);
    }

    /// Records `n` samples scored with a warning about their input (`empty_label`: an OpenRLHF
    /// request without `--label_key`, every reward then 0; `response_not_found`: the response
    /// could not be told from the prompt, so the sample is an error).
    pub fn record_input_warning(&self, kind: &'static str, n: u64) {
        if n > 0 {
            self.with(|c| *c.input_warnings.entry(kind).or_default() += n);
        }
    }

    /// Samples counted under input warning `kind`.
    pub fn input_warnings(&self, kind: &str) -> u64 {
        self.with(|c| c.input_warnings.get(kind).copied().unwrap_or(0))
    }

    /// Total requests answered with `status` on `endpoint`.
    pub fn requests(&self, endpoint: &str, status: u16) -> u64 {
        self.with(|c| c.requests.iter().filter(|((e, s), _)| *e == endpoint && *s == status).map(|(_, n)| n).sum())
    }

    /// Renders every metric in the Prometheus text format (version 0.0.4).
    pub fn render(&self, queue: QueueGauge, in_flight: usize) -> String {
        self.with(|c| {
            let mut out = String::new();
            // Writing to a String cannot fail.
            let _ = write_metrics(&mut out, c, queue, in_flight);
            out
        })
    }
}

fn write_metrics(out: &mut String, c: &Counters, queue: QueueGauge, in_flight: usize) -> std::fmt::Result {
    writeln!(out, "# HELP rlvr_requests_total HTTP requests answered, by endpoint and status code.")?;
    writeln!(out, "# TYPE rlvr_requests_total counter")?;
    for ((endpoint, status), n) in &c.requests {
        writeln!(out, "rlvr_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}")?;
    }
    writeln!(out, "# HELP rlvr_samples_total Samples scored, by endpoint.")?;
    writeln!(out, "# TYPE rlvr_samples_total counter")?;
    for (endpoint, n) in &c.samples {
        writeln!(out, "rlvr_samples_total{{endpoint=\"{endpoint}\"}} {n}")?;
    }
    writeln!(out, "# HELP rlvr_verdicts_total Scored samples by verdict.")?;
    writeln!(out, "# TYPE rlvr_verdicts_total counter")?;
    for (verdict, n) in &c.verdicts {
        writeln!(out, "rlvr_verdicts_total{{verdict=\"{verdict}\"}} {n}")?;
    }
    writeln!(out, "# HELP rlvr_rejected_total Requests turned away before scoring, by reason.")?;
    writeln!(out, "# TYPE rlvr_rejected_total counter")?;
    for (reason, n) in &c.rejected {
        writeln!(out, "rlvr_rejected_total{{reason=\"{reason}\"}} {n}")?;
    }
    writeln!(out, "# HELP rlvr_input_warnings_total Samples scored with a warning about their input, by kind.")?;
    writeln!(out, "# TYPE rlvr_input_warnings_total counter")?;
    for (kind, n) in &c.input_warnings {
        writeln!(out, "rlvr_input_warnings_total{{kind=\"{kind}\"}} {n}")?;
    }
    let pool = crate::code::admission::global();
    writeln!(out, "# HELP rlvr_sandbox_slots Sandboxes that may run at once (RLVR_SANDBOX_SLOTS).")?;
    writeln!(out, "# TYPE rlvr_sandbox_slots gauge")?;
    writeln!(out, "rlvr_sandbox_slots {}", pool.capacity())?;
    writeln!(out, "# HELP rlvr_sandbox_running Sandbox slots in use.")?;
    writeln!(out, "# TYPE rlvr_sandbox_running gauge")?;
    writeln!(out, "rlvr_sandbox_running {}", pool.running())?;
    writeln!(out, "# HELP rlvr_sandbox_waiting Sandbox runs waiting for a slot.")?;
    writeln!(out, "# TYPE rlvr_sandbox_waiting gauge")?;
    writeln!(out, "rlvr_sandbox_waiting {}", pool.waiting())?;
    writeln!(out, "# HELP rlvr_queue_depth Samples admitted and not yet answered.")?;
    writeln!(out, "# TYPE rlvr_queue_depth gauge")?;
    writeln!(out, "rlvr_queue_depth {}", queue.depth)?;
    writeln!(out, "# HELP rlvr_queue_capacity Most samples admitted at once (max_queued_samples).")?;
    writeln!(out, "# TYPE rlvr_queue_capacity gauge")?;
    writeln!(out, "rlvr_queue_capacity {}", queue.capacity)?;
    writeln!(out, "# HELP rlvr_in_flight_requests Requests admitted and not yet answered.")?;
    writeln!(out, "# TYPE rlvr_in_flight_requests gauge")?;
    writeln!(out, "rlvr_in_flight_requests {in_flight}")?;
    writeln!(out, "# HELP rlvr_request_duration_seconds Time from receiving a request to answering it.")?;
    writeln!(out, "# TYPE rlvr_request_duration_seconds histogram")?;
    for (endpoint, h) in &c.latency {
        let mut cumulative = 0;
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            writeln!(out, "rlvr_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{le}\"}} {cumulative}")?;
        }
        writeln!(out, "rlvr_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}", h.count)?;
        writeln!(out, "rlvr_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {}", h.sum)?;
        writeln!(out, "rlvr_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {}", h.count)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_the_count() {
        let m = Metrics::default();
        m.record_request("score", 200, Duration::from_millis(3));
        m.record_request("score", 200, Duration::from_millis(300));
        m.record_request("score", 429, Duration::from_secs(100));
        let text = m.render(QueueGauge { depth: 2, capacity: 10 }, 1);
        assert!(text.contains("rlvr_request_duration_seconds_bucket{endpoint=\"score\",le=\"0.005\"} 1\n"));
        assert!(text.contains("rlvr_request_duration_seconds_bucket{endpoint=\"score\",le=\"0.5\"} 2\n"));
        assert!(text.contains("rlvr_request_duration_seconds_bucket{endpoint=\"score\",le=\"60\"} 2\n"));
        assert!(text.contains("rlvr_request_duration_seconds_bucket{endpoint=\"score\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("rlvr_requests_total{endpoint=\"score\",status=\"429\"} 1\n"));
        assert!(text.contains("rlvr_queue_depth 2\n"));
        assert_eq!(m.requests("score", 200), 2);
    }

    #[test]
    fn verdicts_are_counted_by_name() {
        let m = Metrics::default();
        m.record_verdicts("score", [Verdict::Correct, Verdict::Correct, Verdict::Error]);
        let text = m.render(QueueGauge { depth: 0, capacity: 1 }, 0);
        assert!(text.contains("rlvr_verdicts_total{verdict=\"correct\"} 2\n"));
        assert!(text.contains("rlvr_verdicts_total{verdict=\"error\"} 1\n"));
        assert!(text.contains("rlvr_samples_total{endpoint=\"score\"} 3\n"));
    }
}
