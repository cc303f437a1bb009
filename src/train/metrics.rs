//! One JSON line per optimizer step, with TRL's metric names, so curves from rlvr and TRL can be
//! read by the same scripts (`reward`, `reward_std`, `rewards/<name>/mean`, `frac_reward_zero_std`,
//! `completions/mean_length`, `completions/clipped_ratio`, `kl`, `clip_ratio/*`, `entropy`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrainError;

/// What one GRPO step measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Which run this line belongs to (`grpo`, `control`, …).
    pub run: String,
    /// Optimizer step, from 1.
    pub step: usize,
    /// Mean reward over the step's completions.
    pub reward: f64,
    /// Standard deviation of the rewards.
    pub reward_std: f64,
    /// Per component: `rewards/<name>/mean` and `rewards/<name>/std`.
    pub rewards: BTreeMap<String, ComponentStats>,
    /// Fraction of completions the accuracy check accepted.
    pub accuracy: f64,
    /// Fraction of groups whose rewards were all equal (no learning signal).
    pub frac_reward_zero_std: f64,
    /// Mean completion length in tokens.
    #[serde(rename = "completions/mean_length")]
    pub mean_length: f64,
    /// Fraction of completions truncated at `max_completion_length`.
    #[serde(rename = "completions/clipped_ratio")]
    pub clipped_ratio: f64,
    /// Mean k3 KL to the reference model (0 when `beta` is 0).
    pub kl: f64,
    /// Fraction of tokens clipped below.
    #[serde(rename = "clip_ratio/low_mean")]
    pub clip_low: f64,
    /// Fraction of tokens clipped above.
    #[serde(rename = "clip_ratio/high_mean")]
    pub clip_high: f64,
    /// Fraction of tokens clipped either way.
    #[serde(rename = "clip_ratio/region_mean")]
    pub clip_region: f64,
    /// Mean per-token entropy of the policy on its completions (nats).
    pub entropy: f64,
    /// The loss (last micro-batch sum of the last iteration).
    pub loss: f64,
    /// Gradient norm before clipping (last iteration).
    pub grad_norm: f64,
    /// Completions the engine could not judge (scored 0).
    pub reward_errors: usize,
    /// Generation rounds this step used (more than 1 when dynamic sampling refilled the batch).
    #[serde(default)]
    pub num_gen_batches: usize,
    /// Prompt groups that entered the loss.
    #[serde(default)]
    pub trained_groups: usize,
    /// Completion tokens generated this step (all rounds).
    #[serde(default)]
    pub tokens_generated: usize,
    /// Scoring's share of the step's wall time (scoring / (sampling + scoring + update)).
    #[serde(default)]
    pub scoring_share: f64,
    /// Seconds spent sampling, scoring and updating.
    pub seconds: StepSeconds,
}

/// Held-out accuracy and format rate of one model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Fraction of held-out prompts answered correctly, greedy decoding.
    pub accuracy: f64,
    /// Fraction whose format component scored 1, greedy decoding.
    pub format: f64,
    /// Accuracy with one sample at the evaluation temperature (pass@1).
    pub accuracy_sampled: f64,
    /// Format rate with one sample at the evaluation temperature.
    pub format_sampled: f64,
}

/// Mean and standard deviation of one reward component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentStats {
    /// Mean raw score.
    pub mean: f64,
    /// Standard deviation of the raw score.
    pub std: f64,
}

/// Where a step's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepSeconds {
    /// Generation with the KV cache.
    pub sampling: f64,
    /// `Engine::score_batch`.
    pub scoring: f64,
    /// Forward, backward and optimizer.
    pub update: f64,
}

/// Mean and (population) standard deviation.
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt())
}

/// An append-only JSONL metrics file.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

impl MetricsLog {
    /// Creates (truncates) the log at `path`.
    pub fn create(path: &Path) -> Result<MetricsLog, TrainError> {
        let file = std::fs::File::create(path).map_err(|e| TrainError::io(path, e))?;
        Ok(MetricsLog { path: path.to_owned(), file: std::io::BufWriter::new(file) })
    }

    /// Reads every line of a log written by [`MetricsLog::write`].
    pub fn read(path: &Path) -> Result<Vec<StepMetrics>, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| TrainError::Checkpoint {
                    path: path.to_owned(),
                    message: format!("metrics line: {e}"),
                })
            })
            .collect()
    }

    /// Creates (truncates) the log at `path` and writes `lines` into it: a resumed run's history.
    pub fn restore(path: &Path, lines: &[StepMetrics]) -> Result<MetricsLog, TrainError> {
        let mut log = MetricsLog::create(path)?;
        for m in lines {
            log.write(m)?;
        }
        Ok(log)
    }

    /// Appends one line and flushes it, so a crashed run keeps its curve.
    pub fn write(&mut self, metrics: &StepMetrics) -> Result<(), TrainError> {
        let line = serde_json::to_string(metrics).map_err(|e| TrainError::Config(e.to_string()))?;
        writeln!(self.file, "{line}").and_then(|_| self.file.flush()).map_err(|e| TrainError::io(&self.path, e))
    }
}
