//! An embedded GRPO trainer on candle whose rewards come from [`crate::Engine::score_batch`].
//!
//! The stages follow one training step: [`tokenizer`] turns text into ids, [`model`] is a
//! Llama/Qwen2-style decoder written with differentiable ops only, [`sampler`] draws `G`
//! completions per prompt with a KV cache, [`reward`] scores them through the engine,
//! [`loss`] turns rewards into group-normalised advantages and TRL's clipped surrogate,
//! [`optim`] clips gradients and applies AdamW, and [`grpo`] runs the loop, writes metrics
//! ([`metrics`], [`plot`]) and checkpoints ([`checkpoint`]). [`hf`] loads a pretrained model (a
//! Hugging Face directory, or a GGUF file through [`gguf`]) and writes checkpoints in the same
//! layout; [`chat`] renders prompts with the model's chat template; [`run`] is the loop that
//! trains such a model on a dataset. What it trains on lives apart, in [`task`]: a user's
//! dataset of prompts ([`task::dataset`]) and the CPU demonstration ([`task::arithmetic`]).
//!
//! Why the trainer owns its model: candle-nn 0.11's fused kernels (`ops::rms_norm`,
//! `softmax_last_dim`, `rotary_emb::rope*`, `sdpa`) have no backward pass, so gradients stop
//! there silently and AdamW skips the weights behind them while the loss still falls. Every
//! op on the training path here is a composite of differentiable tensor ops, and a test checks
//! that every trainable tensor receives a non-zero gradient.

pub mod chat;
pub mod checkpoint;
pub mod gguf;
pub mod grpo;
pub mod hf;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod plot;
pub mod reward;
pub mod rng;
pub mod run;
pub mod sampler;
pub mod task;
pub mod tokenizer;

pub use task::arithmetic;

use candle_core::Device;

/// Everything that can go wrong while building, loading or training a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor operation failed (shape mismatch, out of memory, unsupported device, …).
    #[error("tensor operation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configuration value is out of its documented range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A weight file lacks a tensor or has one of the wrong shape.
    #[error("weights: {0}")]
    Weights(String),
    /// Text could not be tokenized, or ids could not be decoded.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A model file is missing, unreadable or describes something unsupported.
    #[error("model {path}: {message}")]
    Model {
        /// The file (or directory) concerned.
        path: std::path::PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A dataset cannot be read at all (single malformed rows are skipped and counted instead).
    #[error("dataset {path}: {message}")]
    Data {
        /// The dataset file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The device ran out of memory.
    #[error(
        "out of memory ({message}): lower --per-device-train-batch-size, --num-generations or --max-completion-length"
    )]
    OutOfMemory {
        /// The backend's message.
        message: String,
    },
    /// A sequence is longer than the model's position limit.
    #[error(
        "sequence of {len} tokens exceeds the model's max_position_embeddings {max}: lower --max-prompt-length or --max-completion-length"
    )]
    TooLong {
        /// The sequence length asked for.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The loss or a gradient became NaN or infinite.
    #[error(
        "non-finite {what} at step {step}: lower --learning-rate, or use --dtype f32 if training in half precision"
    )]
    NonFinite {
        /// What was not finite (`loss`, `grad_norm`).
        what: &'static str,
        /// The optimizer step.
        step: usize,
    },
    /// A checkpoint is unreadable or belongs to another model.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl TrainError {
    /// A tensor error that is an out-of-memory becomes [`TrainError::OutOfMemory`].
    pub fn classify(self) -> TrainError {
        match self {
            TrainError::Tensor(e) if e.to_string().to_lowercase().contains("out of memory") => {
                TrainError::OutOfMemory { message: e.to_string() }
            }
            other => other,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io { path: path.into(), source }
    }
}

/// Writes `rows` to `path` as JSONL, one serialized row per line (held-out completions, datasets).
pub fn write_jsonl<T: serde::Serialize>(path: &std::path::Path, rows: &[T]) -> Result<(), TrainError> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row).map_err(|e| TrainError::Config(e.to_string()))?);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| TrainError::io(path, e))
}

/// Parses a device name: `cpu` or `cuda:N` (the latter needs the `cuda` feature).
pub fn parse_device(name: &str) -> Result<Device, TrainError> {
    if name == "cpu" {
        return Ok(Device::Cpu);
    }
    if let Some(ordinal) = name.strip_prefix("cuda:") {
        let ordinal: usize =
            ordinal.parse().map_err(|_| TrainError::Config(format!("bad device `{name}`: expected cuda:N")))?;
        return Device::new_cuda(ordinal).map_err(|e| {
            TrainError::Config(format!("device `{name}` unavailable (build with `--features cuda`): {e}"))
        });
    }
    Err(TrainError::Config(format!("unknown device `{name}`: expected `cpu` or `cuda:N`")))
}
