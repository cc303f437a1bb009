//! AdamW with global gradient-norm clipping, gradient accumulation and a saveable state.
//!
//! candle-nn's `AdamW` keeps its moments private (so a checkpoint cannot resume it), has no
//! clipping, and silently skips weights without a gradient. This one takes gradients aligned with
//! the weights it owns, reports how many got none, clips by the global L2 norm as PyTorch's
//! `clip_grad_norm_` does (`scale = max_norm / (norm + 1e-6)` when `norm > max_norm`), and exposes
//! its moments for [`super::checkpoint`]. Weight decay is explicit: Hugging Face's default is 0,
//! candle's is 0.01.

use std::collections::BTreeMap;

use candle_core::{Tensor, Var, backprop::GradStore};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::model::Weights;

/// AdamW hyper-parameters (Hugging Face `TrainingArguments` names and defaults, except the learning rate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// Step size.
    pub learning_rate: f64,
    /// First-moment decay (`adam_beta1`, 0.9).
    pub adam_beta1: f64,
    /// Second-moment decay (`adam_beta2`, 0.999).
    pub adam_beta2: f64,
    /// Denominator epsilon (`adam_epsilon`, 1e-8).
    pub adam_epsilon: f64,
    /// Decoupled weight decay (`weight_decay`, 0.0).
    pub weight_decay: f64,
    /// Global gradient-norm clip (`max_grad_norm`, 1.0); 0 disables clipping.
    pub max_grad_norm: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            learning_rate: 1e-6,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
        }
    }
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Global gradient L2 norm before clipping.
    pub grad_norm: f64,
    /// Weights that received no gradient this step (they were not updated).
    pub missing_gradients: usize,
}

/// Gradients aligned with [`AdamW::names`], summed over micro-batches.
pub type Gradients = Vec<Option<Tensor>>;

/// The optimizer.
#[derive(Debug)]
pub struct AdamW {
    names: Vec<String>,
    vars: Vec<Var>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    step: usize,
    config: AdamWConfig,
}

impl AdamW {
    /// An optimizer over every weight, moments zero.
    pub fn new(weights: &Weights, config: AdamWConfig) -> Result<AdamW, TrainError> {
        let mut opt = AdamW { names: vec![], vars: vec![], first: vec![], second: vec![], step: 0, config };
        for (name, var) in weights {
            opt.names.push(name.clone());
            opt.vars.push(var.clone());
            opt.first.push(var.as_tensor().zeros_like()?);
            opt.second.push(var.as_tensor().zeros_like()?);
        }
        Ok(opt)
    }

    /// Names of the weights, in gradient order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// Sets the learning rate (for schedules).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.config.learning_rate = lr;
    }

    /// Picks this optimizer's weights' gradients out of a backward pass.
    pub fn gradients(&self, store: &GradStore) -> Gradients {
        self.vars.iter().map(|v| store.get(v.as_tensor()).cloned()).collect()
    }

    /// Adds `more` into `total` (gradient accumulation over micro-batches).
    pub fn accumulate(total: &mut Gradients, more: Gradients) -> Result<(), TrainError> {
        if total.is_empty() {
            *total = more;
            return Ok(());
        }
        for (t, m) in total.iter_mut().zip(more) {
            *t = match (t.take(), m) {
                (Some(a), Some(b)) => Some((a + b)?),
                (a, b) => a.or(b),
            };
        }
        Ok(())
    }

    /// Global L2 norm of a set of gradients.
    pub fn grad_norm(grads: &Gradients) -> Result<f64, TrainError> {
        let mut sum = 0.0;
        for g in grads.iter().flatten() {
            sum += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
        Ok(sum.sqrt())
    }

    /// One AdamW step on `grads` after clipping their global norm.
    pub fn step(&mut self, grads: &Gradients) -> Result<StepReport, TrainError> {
        if grads.len() != self.vars.len() {
            return Err(TrainError::Config(format!("{} gradients for {} weights", grads.len(), self.vars.len())));
        }
        let grad_norm = Self::grad_norm(grads)?;
        if !grad_norm.is_finite() {
            return Err(TrainError::NonFinite { what: "grad_norm", step: self.step + 1 });
        }
        let clip = if self.config.max_grad_norm > 0.0 && grad_norm > self.config.max_grad_norm {
            self.config.max_grad_norm / (grad_norm + 1e-6)
        } else {
            1.0
        };
        self.step += 1;
        let c = &self.config;
        let (b1, b2) = (c.adam_beta1, c.adam_beta2);
        let bias1 = 1.0 - b1.powi(self.step as i32);
        let bias2 = 1.0 - b2.powi(self.step as i32);
        let mut missing = 0;
        for (i, grad) in grads.iter().enumerate() {
            let Some(g) = grad else {
                missing += 1;
                continue;
            };
            let g = (g * clip)?;
            let m = ((&self.first[i] * b1)? + (&g * (1.0 - b1))?)?;
            let v = ((&self.second[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let update = ((&m / bias1)? / ((&v / bias2)?.sqrt()? + c.adam_epsilon)?)?;
            let theta = self.vars[i].as_tensor();
            let next = ((theta * (1.0 - c.learning_rate * c.weight_decay))? - (update * c.learning_rate)?)?;
            self.vars[i].set(&next)?;
            self.first[i] = m;
            self.second[i] = v;
        }
        Ok(StepReport { grad_norm, missing_gradients: missing })
    }

    /// The moments as named tensors (`exp_avg.<name>`, `exp_avg_sq.<name>`) for a checkpoint.
    pub fn state_tensors(&self) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        for (i, name) in self.names.iter().enumerate() {
            out.insert(format!("exp_avg.{name}"), self.first[i].clone());
            out.insert(format!("exp_avg_sq.{name}"), self.second[i].clone());
        }
        out
    }

    /// Restores moments and the step count saved by [`AdamW::state_tensors`].
    pub fn load_state(&mut self, tensors: &BTreeMap<String, Tensor>, step: usize) -> Result<(), TrainError> {
        for (i, name) in self.names.iter().enumerate() {
            for (prefix, slot) in [("exp_avg", &mut self.first[i]), ("exp_avg_sq", &mut self.second[i])] {
                let key = format!("{prefix}.{name}");
                let t =
                    tensors.get(&key).ok_or_else(|| TrainError::Weights(format!("missing optimizer state `{key}`")))?;
                if t.dims() != slot.dims() {
                    return Err(TrainError::Weights(format!("optimizer state `{key}` has the wrong shape")));
                }
                *slot = t.clone();
            }
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn weights() -> Weights {
        let dev = Device::Cpu;
        let mut w = Weights::new();
        w.insert("a".into(), Var::new(&[1.0f32, -2.0], &dev).unwrap());
        w.insert("b".into(), Var::new(&[0.5f32], &dev).unwrap());
        w
    }

    #[test]
    fn clipping_scales_every_gradient_by_one_factor() {
        let w = weights();
        let cfg = AdamWConfig { learning_rate: 0.1, max_grad_norm: 1.0, ..AdamWConfig::default() };
        let mut opt = AdamW::new(&w, cfg).unwrap();
        let dev = Device::Cpu;
        let grads = vec![Some(Tensor::new(&[3.0f32, 0.0], &dev).unwrap()), Some(Tensor::new(&[4.0f32], &dev).unwrap())];
        let report = opt.step(&grads).unwrap();
        assert!((report.grad_norm - 5.0).abs() < 1e-6);
        // First Adam step moves each coordinate by ≈ lr·sign(g) whatever the clip factor.
        let a = w["a"].as_tensor().to_vec1::<f32>().unwrap();
        assert!((a[0] - 0.9).abs() < 1e-5 && (a[1] + 2.0).abs() < 1e-6, "{a:?}");
        let m = opt.state_tensors()["exp_avg.b"].to_vec1::<f32>().unwrap();
        assert!((m[0] - 0.1 * 4.0 / 5.0).abs() < 1e-5, "clipped first moment {m:?}");
    }

    #[test]
    fn missing_gradients_are_counted_and_nan_is_an_error() {
        let w = weights();
        let mut opt = AdamW::new(&w, AdamWConfig::default()).unwrap();
        let dev = Device::Cpu;
        let report = opt.step(&vec![None, Some(Tensor::new(&[1.0f32], &dev).unwrap())]).unwrap();
        assert_eq!(report.missing_gradients, 1);
        let nan = vec![None, Some(Tensor::new(&[f32::NAN], &dev).unwrap())];
        assert!(matches!(opt.step(&nan), Err(TrainError::NonFinite { what: "grad_norm", .. })));
    }
}
