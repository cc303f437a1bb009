//! Checkpoints: `model.safetensors` (weights under their Hugging Face names),
//! `optimizer.safetensors` (AdamW moments) and `trainer_state.json` (model config, step, RNG
//! state), so a run resumes exactly where it stopped and the weights load anywhere safetensors do.
//! A run writes them as `OUT/checkpoint-N` (N = GRPO steps so far, as Hugging Face's Trainer
//! names them) with a copy of the metrics log up to that step; [`latest`] finds the newest.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::model::{ModelConfig, Weights};
use super::optim::AdamW;
use super::rng::Rng;

/// The weights file inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The optimizer-state file inside a checkpoint directory.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// The trainer-state file inside a checkpoint directory.
pub const STATE_FILE: &str = "trainer_state.json";
/// The metrics log up to the checkpoint's step, inside a checkpoint directory.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The prefix of checkpoint directories inside a run directory (`checkpoint-N`).
pub const PREFIX: &str = "checkpoint-";

/// What a checkpoint records besides tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// The model's shape.
    pub model: ModelConfig,
    /// Optimizer steps taken.
    pub step: usize,
    /// The sampling/shuffling generator, so a resumed run draws what the uninterrupted run would have.
    pub rng: Rng,
    /// Free-form label (`sft`, `grpo`, …).
    pub stage: String,
    /// Task-specific progress a resumed run needs (the arithmetic demo's prompt generator and
    /// evaluations so far); absent in checkpoints that cannot be resumed as a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<serde_json::Value>,
}

/// `dir` itself when it is a checkpoint, else its `checkpoint-N` subdirectory with the largest `N`.
pub fn latest(dir: &Path) -> Result<std::path::PathBuf, TrainError> {
    if dir.join(STATE_FILE).is_file() {
        return Ok(dir.to_owned());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| TrainError::io(dir, e))?;
    let mut best: Option<(usize, std::path::PathBuf)> = None;
    for entry in entries {
        let path = entry.map_err(|e| TrainError::io(dir, e))?.path();
        let n = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix(PREFIX)?.parse::<usize>().ok());
        if let Some(n) = n.filter(|_| path.join(STATE_FILE).is_file())
            && best.as_ref().is_none_or(|(b, _)| n > *b)
        {
            best = Some((n, path));
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| TrainError::Checkpoint {
        path: dir.to_owned(),
        message: format!("neither a checkpoint ({STATE_FILE}) nor a directory holding {PREFIX}N checkpoints"),
    })
}

/// Writes a checkpoint directory (created if missing).
pub fn save(dir: &Path, weights: &Weights, optimizer: Option<&AdamW>, state: &TrainerState) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let tensors: HashMap<String, Tensor> = weights.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    candle_core::safetensors::save(&tensors, dir.join(WEIGHTS_FILE))?;
    if let Some(opt) = optimizer {
        let moments: HashMap<String, Tensor> = opt.state_tensors().into_iter().collect();
        candle_core::safetensors::save(&moments, dir.join(OPTIMIZER_FILE))?;
    }
    let json = serde_json::to_string_pretty(state).map_err(|e| TrainError::Config(e.to_string()))?;
    std::fs::write(dir.join(STATE_FILE), json).map_err(|e| TrainError::io(dir.join(STATE_FILE), e))
}

/// Reads a checkpoint's state and weights (as fresh trainable variables).
pub fn load(dir: &Path, device: &Device) -> Result<(TrainerState, Weights), TrainError> {
    let state_path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
    let state: TrainerState = serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint { path: state_path.clone(), message: e.to_string() })?;
    let path = dir.join(WEIGHTS_FILE);
    let tensors = candle_core::safetensors::load(&path, device)
        .map_err(|e| TrainError::Checkpoint { path: path.clone(), message: e.to_string() })?;
    let mut weights = Weights::new();
    for (name, shape) in state.model.parameter_shapes() {
        let t = tensors.get(&name).ok_or_else(|| TrainError::Checkpoint {
            path: path.clone(),
            message: format!("missing tensor `{name}`"),
        })?;
        if t.dims() != shape.as_slice() {
            return Err(TrainError::Checkpoint {
                path: path.clone(),
                message: format!("`{name}` has shape {:?}, the config says {shape:?}", t.dims()),
            });
        }
        weights.insert(name, Var::from_tensor(t)?);
    }
    Ok((state, weights))
}

/// Restores the optimizer's moments from a checkpoint written with one.
pub fn load_optimizer(dir: &Path, optimizer: &mut AdamW, step: usize, device: &Device) -> Result<(), TrainError> {
    let path = dir.join(OPTIMIZER_FILE);
    let tensors: BTreeMap<String, Tensor> = candle_core::safetensors::load(&path, device)
        .map_err(|e| TrainError::Checkpoint { path: path.clone(), message: e.to_string() })?
        .into_iter()
        .collect();
    optimizer.load_state(&tensors, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::{Model, attention_bias, init_weights};
    use crate::train::optim::AdamWConfig;

    #[test]
    fn round_trip_gives_identical_logits_and_optimizer_state() {
        let dev = Device::Cpu;
        let cfg = ModelConfig { max_position_embeddings: 8, ..ModelConfig::tiny(9) };
        let weights = init_weights(&cfg, &mut Rng::new(11), &dev).unwrap();
        let mut opt = AdamW::new(&weights, AdamWConfig::default()).unwrap();
        let grads: Vec<_> = weights.values().map(|v| Some(v.as_tensor().ones_like().unwrap())).collect();
        opt.step(&grads).unwrap();
        let dir = std::env::temp_dir().join(format!("rlvr-ckpt-test-{}", std::process::id()));
        let state =
            TrainerState { model: cfg.clone(), step: 1, rng: Rng::new(5), stage: "test".into(), progress: None };
        save(&dir, &weights, Some(&opt), &state).unwrap();
        let (loaded_state, loaded) = load(&dir, &dev).unwrap();
        assert_eq!(loaded_state, state);
        let ids = Tensor::new(&[[2u32, 3, 4]], &dev).unwrap();
        let bias = attention_bias(&[vec![true; 3]], 0, 3, &dev).unwrap();
        let run = |w: &Weights| {
            let m = Model::new(&cfg, w, &dev).unwrap();
            m.logits(&m.hidden(&ids, 0, &bias, None).unwrap()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert_eq!(run(&weights), run(&loaded));
        let mut resumed = AdamW::new(&loaded, AdamWConfig::default()).unwrap();
        load_optimizer(&dir, &mut resumed, 1, &dev).unwrap();
        assert_eq!(resumed.steps(), 1);
        let key = "exp_avg.model.norm.weight";
        assert_eq!(
            resumed.state_tensors()[key].to_vec1::<f32>().unwrap(),
            opt.state_tensors()[key].to_vec1::<f32>().unwrap()
        );
        let run = dir.join("run");
        for n in [2, 10, 9] {
            save(&run.join(format!("{PREFIX}{n}")), &weights, None, &state).unwrap();
        }
        std::fs::create_dir_all(run.join("checkpoint-99")).unwrap();
        assert_eq!(latest(&run).unwrap(), run.join("checkpoint-10"), "numeric order, complete checkpoints only");
        assert_eq!(latest(&run.join("checkpoint-2")).unwrap(), run.join("checkpoint-2"));
        assert!(matches!(latest(&run.join("checkpoint-99")), Err(TrainError::Checkpoint { .. })));
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        assert!(matches!(load(&dir, &dev), Err(TrainError::Checkpoint { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
