//! Group-normalised advantages and TRL's clipped GRPO surrogate, with the options named as TRL
//! names them (`scale_rewards`, `epsilon`, `epsilon_high`, `beta`, `loss_type`).
//!
//! The formulas follow `GRPOTrainer._compute_loss` exactly, so a TRL user gets the same numbers:
//! `coef₁ = exp(logp − old_logp)`, `coef₂ = clamp(coef₁, 1 − ε, 1 + ε_high)`,
//! `ℓ = −min(coef₁·A, coef₂·A) + β·(exp(ref − logp) − (ref − logp) − 1)` (Schulman's k3), then one
//! of four aggregations. `testdata/train/grpo_reference.py` recomputes every case in numpy; the
//! tests below compare loss, per-token loss, KL, clip fractions and the gradient with its output.
//! Aggregation takes a [`LossScale`] so a batch split into micro-batches (gradient accumulation)
//! gives the same gradient as one big batch.

use candle_core::{D, Tensor};
use serde::{Deserialize, Serialize};

use super::TrainError;

/// How advantages are scaled after subtracting the group mean (TRL's `scale_rewards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScaleRewards {
    /// Divide by the group's standard deviation (DeepSeekMath's GRPO; TRL's default).
    Group,
    /// Divide by the whole batch's standard deviation (Lite PPO).
    Batch,
    /// Do not divide (Dr. GRPO).
    None,
}

/// How per-token losses become one number (TRL's `loss_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum LossType {
    /// Mean over each completion's tokens, then mean over completions (DeepSeekMath).
    Grpo,
    /// Mean over the micro-batch's active tokens.
    Bnpo,
    /// Sum over tokens divided by `batch × max_completion_length` (Dr. GRPO).
    DrGrpo,
    /// Sum over tokens divided by the whole batch's active tokens (DAPO; TRL's default).
    Dapo,
}

/// The small constant TRL adds to the standard deviation.
pub const STD_EPS: f64 = 1e-4;

/// Advantages of a batch of `groups × num_generations` rewards, and which groups had all-equal rewards.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    /// One advantage per completion, in input order.
    pub values: Vec<f64>,
    /// Per group: whether its rewards were all equal (zero advantage, no learning signal).
    pub zero_std: Vec<bool>,
}

fn std_bessel(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// Group-relative advantages: `r − mean(group)`, divided per `scale` by `std + 1e-4` (Bessel-corrected).
pub fn advantages(rewards: &[f64], num_generations: usize, scale: ScaleRewards) -> Result<Advantages, TrainError> {
    if num_generations < 2 {
        return Err(TrainError::Config(format!("num_generations must be at least 2, got {num_generations}")));
    }
    if rewards.is_empty() || !rewards.len().is_multiple_of(num_generations) {
        return Err(TrainError::Config(format!(
            "{} rewards do not split into groups of {num_generations}",
            rewards.len()
        )));
    }
    if let Some(i) = rewards.iter().position(|r| !r.is_finite()) {
        return Err(TrainError::Config(format!("reward {i} is not finite: {}", rewards[i])));
    }
    let batch_std = std_bessel(rewards);
    let mut values = Vec::with_capacity(rewards.len());
    let mut zero_std = Vec::new();
    for group in rewards.chunks(num_generations) {
        let mean = group.iter().sum::<f64>() / group.len() as f64;
        let std = std_bessel(group);
        zero_std.push(std < 1e-12);
        let denom = match scale {
            ScaleRewards::Group => std + STD_EPS,
            ScaleRewards::Batch => batch_std + STD_EPS,
            ScaleRewards::None => 1.0,
        };
        values.extend(group.iter().map(|r| (r - mean) / denom));
    }
    Ok(Advantages { values, zero_std })
}

/// The surrogate's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    /// Lower clip range ε: ratios below `1 − ε` stop pulling negative advantages (TRL default 0.2).
    pub epsilon: f64,
    /// Upper clip range: ratios above `1 + epsilon_high` stop pushing positive advantages (DAPO: 0.28).
    pub epsilon_high: f64,
    /// KL coefficient against the reference model, k3 estimator; 0 disables the reference model.
    pub beta: f64,
    /// The aggregation.
    pub loss_type: LossType,
    /// The completion-length budget; the `dr_grpo` normaliser.
    pub max_completion_length: usize,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig { epsilon: 0.2, epsilon_high: 0.2, beta: 0.0, loss_type: LossType::Dapo, max_completion_length: 512 }
    }
}

/// Whole-batch totals that make micro-batch losses add up to the whole batch's loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossScale {
    /// Completions in the whole batch (`grpo`, `dr_grpo`).
    pub sequences: usize,
    /// Active (unmasked) completion tokens in the whole batch (`dapo`).
    pub active_tokens: f64,
    /// Number of micro-batches (`bnpo` averages their token means).
    pub micro_batches: usize,
}

/// The per-token log-probabilities and labels of one (micro-)batch, all `(batch, len)` except
/// `advantages` `(batch,)`.
#[derive(Debug, Clone, Copy)]
pub struct LossInputs<'a> {
    /// Current policy log-probabilities of the sampled tokens (carries the gradient).
    pub logp: &'a Tensor,
    /// Log-probabilities under the policy that sampled them; `None` means on-policy (`logp.detach()`).
    pub old_logp: Option<&'a Tensor>,
    /// Log-probabilities under the reference model (needed when `beta > 0`).
    pub ref_logp: Option<&'a Tensor>,
    /// One advantage per completion.
    pub advantages: &'a Tensor,
    /// 1 for tokens that count, 0 for padding and masked completions.
    pub mask: &'a Tensor,
}

/// The loss and what TRL logs about it (token-masked means over this micro-batch).
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// The scalar to differentiate.
    pub loss: Tensor,
    /// The per-token loss before aggregation (detached).
    pub per_token: Tensor,
    /// Mean k3 KL to the reference (0 without one).
    pub kl: f64,
    /// Fraction of tokens clipped below (`coef₁ < 1 − ε` with `A < 0`).
    pub clip_low: f64,
    /// Fraction of tokens clipped above (`coef₁ > 1 + ε_high` with `A > 0`).
    pub clip_high: f64,
    /// Fraction of tokens clipped either way.
    pub clip_region: f64,
    /// Number of active tokens in this micro-batch.
    pub active_tokens: f64,
}

fn scalar(t: &Tensor) -> Result<f64, TrainError> {
    Ok(t.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?)
}

/// TRL's GRPO loss for one micro-batch.
pub fn grpo_loss(inputs: &LossInputs<'_>, config: &LossConfig, scale: &LossScale) -> Result<LossOutput, TrainError> {
    let LossInputs { logp, old_logp, ref_logp, advantages, mask } = *inputs;
    let detached;
    let old = match old_logp {
        Some(old) => old,
        None => {
            detached = logp.detach();
            &detached
        }
    };
    let coef_1 = (logp - old)?.exp()?;
    let coef_2 = coef_1.clamp(1.0 - config.epsilon, 1.0 + config.epsilon_high)?;
    let adv = advantages.unsqueeze(1)?;
    let surrogate = coef_1.broadcast_mul(&adv)?.minimum(&coef_2.broadcast_mul(&adv)?)?.neg()?;
    let active = scalar(&mask.sum_all()?)?;
    let active_div = active.max(1.0);
    let (per_token, kl) = if config.beta != 0.0 {
        let reference = ref_logp.ok_or_else(|| TrainError::Config("beta > 0 needs reference log-probs".into()))?;
        let delta = (reference - logp)?;
        let kl = ((delta.exp()? - &delta)? - 1.0)?;
        let kl_mean = scalar(&(&kl * mask)?.sum_all()?)? / active_div;
        ((surrogate + (kl * config.beta)?)?, kl_mean)
    } else {
        (surrogate, 0.0)
    };
    let masked = (&per_token * mask)?;
    let loss = match config.loss_type {
        LossType::Grpo => {
            let per_seq = masked.sum(D::Minus1)?.div(&mask.sum(D::Minus1)?.clamp(1.0, f64::INFINITY)?)?;
            (per_seq.sum_all()? / scale.sequences.max(1) as f64)?
        }
        LossType::Bnpo => ((masked.sum_all()? / active_div)? / scale.micro_batches.max(1) as f64)?,
        LossType::DrGrpo => (masked.sum_all()? / (scale.sequences.max(1) * config.max_completion_length) as f64)?,
        LossType::Dapo => (masked.sum_all()? / scale.active_tokens.max(1.0))?,
    };
    let coef = coef_1.detach();
    let low =
        coef.lt(1.0 - config.epsilon)?.to_dtype(mask.dtype())?.broadcast_mul(&adv.lt(0.0)?.to_dtype(mask.dtype())?)?;
    let high = coef
        .gt(1.0 + config.epsilon_high)?
        .to_dtype(mask.dtype())?
        .broadcast_mul(&adv.gt(0.0)?.to_dtype(mask.dtype())?)?;
    let clip_low = scalar(&(&low * mask)?.sum_all()?)? / active_div;
    let clip_high = scalar(&(&high * mask)?.sum_all()?)? / active_div;
    Ok(LossOutput {
        loss,
        per_token: per_token.detach(),
        kl,
        clip_low,
        clip_high,
        clip_region: clip_low + clip_high,
        active_tokens: active,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};
    use serde_json::Value;

    fn matrix(v: &Value) -> Vec<Vec<f64>> {
        serde_json::from_value(v.clone()).unwrap()
    }

    fn tensor2(rows: &[Vec<f64>]) -> Tensor {
        let (b, t) = (rows.len(), rows[0].len());
        Tensor::from_vec(rows.concat(), (b, t), &Device::Cpu).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn loss_kl_clip_and_gradient_match_the_numpy_reference() {
        let cases = include_str!("../../testdata/train/loss_cases.ndjson");
        let mut n = 0;
        for line in cases.lines() {
            let case: Value = serde_json::from_str(line).unwrap();
            let id = case["id"].as_str().unwrap();
            let loss_type = match case["loss_type"].as_str().unwrap() {
                "grpo" => LossType::Grpo,
                "bnpo" => LossType::Bnpo,
                "dr_grpo" => LossType::DrGrpo,
                "dapo" => LossType::Dapo,
                other => panic!("{id}: unknown loss type {other}"),
            };
            let config = LossConfig {
                epsilon: case["epsilon"].as_f64().unwrap(),
                epsilon_high: case["epsilon_high"].as_f64().unwrap(),
                beta: case["beta"].as_f64().unwrap(),
                loss_type,
                max_completion_length: case["max_completion_length"].as_u64().unwrap() as usize,
            };
            let logp = Var::from_tensor(&tensor2(&matrix(&case["logp"]))).unwrap();
            let old = tensor2(&matrix(&case["old_logp"]));
            let reference = tensor2(&matrix(&case["ref_logp"]));
            let mask = tensor2(&matrix(&case["mask"]));
            let adv: Vec<f64> = serde_json::from_value(case["advantages"].clone()).unwrap();
            let adv = Tensor::new(adv.as_slice(), &Device::Cpu).unwrap();
            let active = mask.sum_all().unwrap().to_scalar::<f64>().unwrap();
            let scale = LossScale { sequences: mask.dim(0).unwrap(), active_tokens: active, micro_batches: 1 };
            let inputs = LossInputs {
                logp: logp.as_tensor(),
                old_logp: Some(&old),
                ref_logp: Some(&reference),
                advantages: &adv,
                mask: &mask,
            };
            let out = grpo_loss(&inputs, &config, &scale).unwrap();
            let loss = out.loss.to_scalar::<f64>().unwrap();
            assert!(close(loss, case["expected_loss"].as_f64().unwrap(), 1e-9), "{id}: loss {loss}");
            let per_token = out.per_token.to_vec2::<f64>().unwrap();
            for (got, want) in per_token.iter().flatten().zip(matrix(&case["expected_per_token"]).iter().flatten()) {
                assert!(close(*got, *want, 1e-9), "{id}: per-token {got} vs {want}");
            }
            if config.beta != 0.0 {
                assert!(close(out.kl, case["expected_kl"].as_f64().unwrap(), 1e-9), "{id}: kl {}", out.kl);
            }
            for (got, key) in [(out.clip_low, "expected_clip_low"), (out.clip_high, "expected_clip_high")] {
                assert!(close(got, case[key].as_f64().unwrap(), 1e-12), "{id}: {key} {got}");
            }
            let grad = out.loss.backward().unwrap().get(logp.as_tensor()).unwrap().to_vec2::<f64>().unwrap();
            for (got, want) in grad.iter().flatten().zip(matrix(&case["expected_grad"]).iter().flatten()) {
                assert!((got - want).abs() < 1e-6, "{id}: gradient {got} vs finite difference {want}");
            }
            n += 1;
        }
        assert_eq!(n, 16);
    }

    #[test]
    fn micro_batches_add_up_to_the_whole_batch() {
        let dev = Device::Cpu;
        let logp = Tensor::new(&[[-1.0f64, -2.0, -0.5], [-0.3, -1.2, -2.2], [-0.7, -0.9, -1.9]], &dev).unwrap();
        let mask = Tensor::new(&[[1.0f64, 1.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], &dev).unwrap();
        let adv = Tensor::new(&[0.5f64, -1.0, 2.0], &dev).unwrap();
        for loss_type in [LossType::Grpo, LossType::DrGrpo, LossType::Dapo] {
            let config = LossConfig { loss_type, max_completion_length: 3, ..LossConfig::default() };
            let scale = LossScale { sequences: 3, active_tokens: 6.0, micro_batches: 1 };
            let whole = |rows: std::ops::Range<usize>, scale: &LossScale| {
                let n = rows.len();
                let inputs = LossInputs {
                    logp: &logp.narrow(0, rows.start, n).unwrap(),
                    old_logp: None,
                    ref_logp: None,
                    advantages: &adv.narrow(0, rows.start, n).unwrap(),
                    mask: &mask.narrow(0, rows.start, n).unwrap(),
                };
                grpo_loss(&inputs, &config, scale).unwrap().loss.to_scalar::<f64>().unwrap()
            };
            let all = whole(0..3, &scale);
            let split = LossScale { micro_batches: 2, ..scale };
            let parts = whole(0..1, &split) + whole(1..3, &split);
            assert!(close(all, parts, 1e-12), "{loss_type:?}: {all} vs {parts}");
        }
    }

    #[test]
    fn advantages_match_the_numpy_reference() {
        for line in include_str!("../../testdata/train/advantage_cases.ndjson").lines() {
            let case: Value = serde_json::from_str(line).unwrap();
            let id = case["id"].as_str().unwrap();
            let rewards: Vec<f64> = serde_json::from_value(case["rewards"].clone()).unwrap();
            let scale = match case["scale_rewards"].as_str().unwrap() {
                "group" => ScaleRewards::Group,
                "batch" => ScaleRewards::Batch,
                _ => ScaleRewards::None,
            };
            let g = case["num_generations"].as_u64().unwrap() as usize;
            let got = advantages(&rewards, g, scale).unwrap();
            let want: Vec<f64> = serde_json::from_value(case["expected"].clone()).unwrap();
            for (a, b) in got.values.iter().zip(&want) {
                assert!(close(*a, *b, 1e-12), "{id}: {a} vs {b}");
            }
            let zero: Vec<bool> = serde_json::from_value(case["expected_zero_std"].clone()).unwrap();
            assert_eq!(got.zero_std, zero, "{id}");
        }
    }

    #[test]
    fn advantages_reject_bad_groups() {
        assert!(advantages(&[1.0, 2.0, 3.0], 2, ScaleRewards::Group).is_err());
        assert!(advantages(&[1.0], 1, ScaleRewards::Group).is_err());
        assert!(advantages(&[1.0, f64::NAN], 2, ScaleRewards::Group).is_err());
        assert!(advantages(&[1.0, 0.0], 2, ScaleRewards::Group).is_ok());
    }

    #[test]
    fn on_policy_gradient_is_reinforce() {
        // With old = logp the ratio is 1: ∂loss/∂logp = −A·mask / normaliser.
        let dev = Device::Cpu;
        let logp = Var::from_tensor(&Tensor::new(&[[-1.0f64, -2.0], [-0.5, -0.1]], &dev).unwrap()).unwrap();
        let mask = Tensor::new(&[[1.0f64, 1.0], [1.0, 0.0]], &dev).unwrap();
        let adv = Tensor::new(&[2.0f64, -1.0], &dev).unwrap();
        let inputs =
            LossInputs { logp: logp.as_tensor(), old_logp: None, ref_logp: None, advantages: &adv, mask: &mask };
        let scale = LossScale { sequences: 2, active_tokens: 3.0, micro_batches: 1 };
        let out = grpo_loss(&inputs, &LossConfig::default(), &scale).unwrap();
        let grad = out.loss.backward().unwrap().get(logp.as_tensor()).unwrap().to_vec2::<f64>().unwrap();
        assert_eq!(grad, vec![vec![-2.0 / 3.0, -2.0 / 3.0], vec![1.0 / 3.0, 0.0]]);
        assert_eq!(out.loss.dtype(), DType::F64);
    }
}
