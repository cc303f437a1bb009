//! rlvr: a reward engine for reinforcement learning with verifiable rewards.
//!
//! The modules follow the path a rollout takes through the engine:
//!
//! * [`sample`]: the `rlvr score` contract — what a sample is and what its result looks like;
//! * [`extract`]: find the final answer in a completion (`\boxed{}`, `<answer>`, "the answer is", …);
//! * [`math`]: parse answers into one AST and decide equivalence exactly;
//! * [`code`]: compile and run model-written code in wasmtime sandboxes against tests;
//! * [`reward`]: reward components and the declarative recipes that weight them;
//! * [`batch`]: the [`batch::Engine`] that scores samples in parallel, one verdict per sample;
//! * [`io`]: streaming JSONL in and out;
//! * [`server`]: the HTTP reward server (`rlvr serve`);
//! * [`validate`]: offline dataset checks before training (`rlvr validate`);
//! * [`train`]: an embedded candle GRPO trainer that learns from the engine's batch rewards;
//! * [`cli`]: the `rlvr` command line.

pub mod batch;
pub mod cli;
pub mod code;
pub mod extract;
pub mod fuzzing;
pub mod io;
pub mod json;
pub mod math;
pub mod reward;
pub mod sample;
pub mod server;
pub mod train;
pub mod validate;

pub use batch::Engine;
pub use sample::{Outcome, Sample, Verdict};
