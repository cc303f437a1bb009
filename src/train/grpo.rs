//! The GRPO loop: prompts → `G` rollouts each → engine rewards → group advantages → `μ` passes
//! of micro-batched clipped-surrogate updates → metrics.
//!
//! Options carry TRL's names and defaults (`num_generations` 8, `beta` 0, `epsilon` 0.2,
//! `loss_type` dapo, `scale_rewards` group, `num_iterations` 1, `mask_truncated_completions`
//! false, `temperature` 1) so a TRL config maps one to one. Two additions TRL lacks: DAPO's
//! dynamic sampling (`dynamic_sampling`: groups with all-equal rewards leave the loss, and
//! [`Trainer::step_with`] samples more prompts until `prompts_per_step` informative groups are
//! collected or `max_num_gen_batches` generation rounds are spent, as DAPO's recipe does) and `shuffle_rewards`,
//! the control that permutes rewards across the batch so they carry no information about the
//! completion they are paired with. As in TRL, training log-probs divide the logits by the
//! sampling temperature, and with `num_iterations = 1` the old log-probs are `logp.detach()`.

use std::time::Instant;

use candle_core::{D, DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::loss::{LossConfig, LossInputs, LossScale, ScaleRewards, advantages, grpo_loss};
use super::metrics::{ComponentStats, StepMetrics, mean_std};
use super::model::{Model, ModelConfig, Weights, attention_bias};
use super::optim::{AdamW, AdamWConfig, Gradients};
use super::reward::{RewardItem, RewardSource, ScoredCompletion};
use super::rng::Rng;
use super::sampler::{Rollout, SamplingConfig, generate};
use super::tokenizer::TextTokenizer;

/// A GRPO run's options (TRL names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrpoConfig {
    /// Completions per prompt (`G`).
    pub num_generations: usize,
    /// Prompts per optimizer step (TRL: `per_device_train_batch_size × … / num_generations`).
    pub prompts_per_step: usize,
    /// Sampling temperature (also divides the logits when computing training log-probs).
    pub temperature: f64,
    /// Nucleus sampling threshold.
    pub top_p: f64,
    /// Most tokens per completion.
    pub max_completion_length: usize,
    /// Clipped-surrogate options and aggregation.
    pub loss: LossConfig,
    /// Advantage scaling.
    pub scale_rewards: ScaleRewards,
    /// Policy updates per generation batch (`μ`).
    pub num_iterations: usize,
    /// Drop groups whose rewards are all equal from the loss and refill the batch (DAPO dynamic sampling).
    pub dynamic_sampling: bool,
    /// Most generation rounds per step while refilling (DAPO's `max_num_gen_batches`; 1 = no refill).
    #[serde(default = "one")]
    pub max_num_gen_batches: usize,
    /// Give truncated completions (no stop token) zero loss weight (DAPO overlong filtering).
    pub mask_truncated_completions: bool,
    /// Completions per forward/backward pass (gradient accumulation bounds memory).
    pub micro_batch_size: usize,
    /// Optimizer settings.
    pub optimizer: AdamWConfig,
    /// The control experiment: permute rewards across the batch before computing advantages.
    pub shuffle_rewards: bool,
    /// Weights and activations during generation and the forward/backward pass; the master
    /// weights and AdamW state stay f32 whatever this is.
    #[serde(default)]
    pub dtype: ComputeDtype,
}

/// The dtype a model computes in (TRL's `bf16` / `fp16` flags; `--dtype`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ComputeDtype {
    /// 32-bit floats throughout.
    #[default]
    F32,
    /// bfloat16 weights and activations (f32 norms, softmax, logits and master weights).
    Bf16,
    /// float16 weights and activations (f32 norms, softmax, logits and master weights).
    F16,
}

impl ComputeDtype {
    /// The candle dtype.
    pub fn dtype(self) -> DType {
        match self {
            ComputeDtype::F32 => DType::F32,
            ComputeDtype::Bf16 => DType::BF16,
            ComputeDtype::F16 => DType::F16,
        }
    }
}

impl Default for GrpoConfig {
    fn default() -> Self {
        GrpoConfig {
            num_generations: 8,
            prompts_per_step: 16,
            temperature: 1.0,
            top_p: 1.0,
            max_completion_length: 512,
            loss: LossConfig::default(),
            scale_rewards: ScaleRewards::Group,
            num_iterations: 1,
            dynamic_sampling: false,
            max_num_gen_batches: 1,
            mask_truncated_completions: false,
            micro_batch_size: 64,
            optimizer: AdamWConfig::default(),
            shuffle_rewards: false,
            dtype: ComputeDtype::F32,
        }
    }
}

impl GrpoConfig {
    /// Checks every option's range.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Config(m.to_string()));
        if self.num_generations < 2 {
            return bad("num_generations must be at least 2 (a group needs a baseline)");
        }
        if self.prompts_per_step == 0
            || self.micro_batch_size == 0
            || self.num_iterations == 0
            || self.max_num_gen_batches == 0
        {
            return bad("prompts_per_step, micro_batch_size, num_iterations and max_num_gen_batches must be positive");
        }
        if !(self.loss.epsilon >= 0.0 && self.loss.epsilon < 1.0 && self.loss.epsilon_high >= 0.0) {
            return bad("epsilon must be in [0, 1) and epsilon_high ≥ 0");
        }
        if !(self.loss.beta >= 0.0 && self.loss.beta.is_finite()) {
            return bad("beta must be ≥ 0");
        }
        if self.temperature <= 0.0 {
            return bad("GRPO needs temperature > 0 (greedy groups have no variance)");
        }
        self.sampling().validate()
    }

    /// The sampler settings for training rollouts (stop tokens are filled in by the trainer).
    pub fn sampling(&self) -> SamplingConfig {
        SamplingConfig {
            temperature: self.temperature,
            top_p: self.top_p,
            max_new_tokens: self.max_completion_length,
            stop_tokens: vec![],
        }
    }
}

fn one() -> usize {
    1
}

/// A training prompt with its gold answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The prompt text.
    pub text: String,
    /// Its token ids.
    pub ids: Vec<u32>,
    /// The gold answer the engine checks against.
    pub answer: String,
}

/// Per-token log-probabilities `(batch, len)` of `targets` under `model`, and the mean entropy
/// of the predictive distributions at masked-in positions.
pub(crate) struct TokenLogprobs {
    pub(crate) logp: Tensor,
    pub(crate) entropy_sum: f64,
}

/// A packed batch: left-padded prompts followed by right-padded completions.
pub(crate) struct Packed {
    ids: Tensor,
    bias: Tensor,
    targets: Tensor,
    pub(crate) mask: Tensor,
    prompt_width: usize,
    completion_width: usize,
}

pub(crate) fn pack(
    rollouts: &[&Rollout],
    pad: u32,
    mask_truncated: bool,
    device: &Device,
) -> Result<Packed, TrainError> {
    let width = rollouts.iter().map(|r| r.prompt.len()).max().unwrap_or(0);
    let comp = rollouts.iter().map(|r| r.completion.len()).max().unwrap_or(0).max(1);
    // The last completion token is only a target, never an input.
    let len = width + comp - 1;
    let (mut ids, mut targets, mut mask, mut valid) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in rollouts {
        let left = width - r.prompt.len();
        let mut seq: Vec<u32> = std::iter::repeat_n(pad, left).chain(r.prompt.iter().copied()).collect();
        seq.extend(r.completion.iter().copied());
        seq.resize(width + comp, pad);
        ids.extend_from_slice(&seq[..len]);
        targets.extend_from_slice(&seq[width..]);
        let keep = !(mask_truncated && r.truncated);
        mask.extend((0..comp).map(|t| if keep && t < r.completion.len() { 1f32 } else { 0.0 }));
        valid.push((0..len).map(|j| j >= left).collect::<Vec<bool>>());
    }
    let n = rollouts.len();
    Ok(Packed {
        ids: Tensor::from_vec(ids, (n, len), device)?,
        bias: attention_bias(&valid, 0, len, device)?,
        targets: Tensor::from_vec(targets, (n, comp), device)?,
        mask: Tensor::from_vec(mask, (n, comp), device)?,
        prompt_width: width,
        completion_width: comp,
    })
}

pub(crate) fn token_logprobs(model: &Model, packed: &Packed, temperature: f64) -> Result<TokenLogprobs, TrainError> {
    let hidden = model.hidden(&packed.ids, 0, &packed.bias, None)?;
    let hidden = hidden.narrow(1, packed.prompt_width - 1, packed.completion_width)?;
    let logits = (model.logits(&hidden)? / temperature)?;
    let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let logp = log_probs.gather(&packed.targets.unsqueeze(2)?.contiguous()?, 2)?.squeeze(2)?;
    let lp = log_probs.detach();
    let entropy = (lp.exp()? * &lp)?.sum(D::Minus1)?.neg()?;
    let entropy_sum = (entropy * &packed.mask)?.sum_all()?.to_scalar::<f32>()? as f64;
    Ok(TokenLogprobs { logp, entropy_sum })
}

/// A GRPO trainer over one model, one tokenizer and one reward source.
pub struct Trainer<'a> {
    model_config: ModelConfig,
    weights: Weights,
    optimizer: AdamW,
    reference: Option<Model>,
    tokenizer: &'a TextTokenizer,
    rewards: &'a dyn RewardSource,
    config: GrpoConfig,
    rng: Rng,
    device: Device,
    run: String,
    stop_tokens: Vec<u32>,
}

impl<'a> Trainer<'a> {
    /// A trainer starting from `weights`; a frozen reference copy is made only when `beta > 0`.
    pub fn new(
        model_config: ModelConfig,
        weights: Weights,
        tokenizer: &'a TextTokenizer,
        rewards: &'a dyn RewardSource,
        config: GrpoConfig,
        seed: u64,
        device: Device,
    ) -> Result<Trainer<'a>, TrainError> {
        config.validate()?;
        let reference = if config.loss.beta > 0.0 {
            Some(Model::frozen_copy_in(&model_config, &weights, &device, config.dtype.dtype())?)
        } else {
            None
        };
        let optimizer = AdamW::new(&weights, config.optimizer.clone())?;
        Ok(Trainer {
            model_config,
            weights,
            optimizer,
            reference,
            tokenizer,
            rewards,
            config,
            rng: Rng::new(seed),
            device,
            run: "grpo".into(),
            stop_tokens: vec![tokenizer.eos_id()],
        })
    }

    /// Names the run in the metrics (`grpo`, `control`, …).
    pub fn with_run_name(mut self, name: &str) -> Self {
        self.run = name.to_string();
        self
    }

    /// Ends completions at any of `ids` (a model's `generation_config.json` EOS list) instead of
    /// the tokenizer's one EOS id.
    pub fn with_stop_tokens(mut self, ids: Vec<u32>) -> Self {
        if !ids.is_empty() {
            self.stop_tokens = ids;
        }
        self
    }

    /// The model's shape.
    pub fn model_config(&self) -> &ModelConfig {
        &self.model_config
    }

    /// The current weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The optimizer (for checkpoints).
    pub fn optimizer(&self) -> &AdamW {
        &self.optimizer
    }

    /// The optimizer, mutably (to resume its moments).
    pub fn optimizer_mut(&mut self) -> &mut AdamW {
        &mut self.optimizer
    }

    /// The generator state (for checkpoints).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    /// Replaces the generator state (resuming from a checkpoint).
    pub fn set_rng(&mut self, rng: Rng) {
        self.rng = rng;
    }

    /// One GRPO step on `prompts` (one generation round: dynamic sampling can drop groups but
    /// has nothing to refill them from; use [`Trainer::step_with`] for that).
    pub fn step(&mut self, prompts: &[Prompt]) -> Result<StepMetrics, TrainError> {
        let mut batch = Some(prompts.to_vec());
        self.step_with(&mut || Ok(batch.take()))
    }

    /// One GRPO step drawing prompt batches from `next_batch` (`None`: no more prompts). Without
    /// dynamic sampling one batch is drawn and trained on; with it, groups whose rewards are all
    /// equal are set aside and further batches are drawn until `prompts_per_step` informative
    /// groups are collected (the surplus of the last round is dropped, as in DAPO) or
    /// `max_num_gen_batches` rounds are spent, in which case the step trains on the groups it has.
    pub fn step_with(
        &mut self,
        next_batch: &mut dyn FnMut() -> Result<Option<Vec<Prompt>>, TrainError>,
    ) -> Result<StepMetrics, TrainError> {
        let cfg = self.config.clone();
        let g = cfg.num_generations;
        // Sampling and the old-policy log-probs need no graph: detached weights.
        let model = Model::inference(&self.model_config, &self.weights, &self.device, self.config.dtype.dtype())?;
        let rounds = if cfg.dynamic_sampling { cfg.max_num_gen_batches } else { 1 };
        let (mut rollouts, mut scored, mut zero_std) = (Vec::new(), Vec::new(), Vec::new());
        // Rewards (shuffled for the control) of every rollout; `None` for groups left out of the loss.
        let mut train_rewards: Vec<Option<f64>> = Vec::new();
        let (mut informative, mut used_rounds, mut sampling_s, mut scoring_s) = (0usize, 0usize, 0.0, 0.0);
        while used_rounds < rounds {
            let Some(prompts) = next_batch()? else { break };
            used_rounds += 1;
            let started = Instant::now();
            let batch = self.rollouts(&model, &prompts)?;
            let sampled = Instant::now();
            let batch_scored = self.score(&prompts, &batch)?;
            sampling_s += (sampled - started).as_secs_f64();
            scoring_s += sampled.elapsed().as_secs_f64();
            let mut rewards: Vec<f64> = batch_scored.iter().map(|s| s.reward).collect();
            if cfg.shuffle_rewards {
                self.rng.shuffle(&mut rewards);
            }
            for group in rewards.chunks(g) {
                let zero = advantages(group, g, ScaleRewards::None)?.zero_std[0];
                zero_std.push(zero);
                let keep = !cfg.dynamic_sampling || (!zero && informative < cfg.prompts_per_step);
                informative += keep as usize;
                train_rewards.extend(group.iter().map(|&r| keep.then_some(r)));
            }
            rollouts.extend(batch);
            scored.extend(batch_scored);
            if !cfg.dynamic_sampling || informative >= cfg.prompts_per_step {
                break;
            }
        }
        let keep: Vec<usize> = (0..rollouts.len()).filter(|&i| train_rewards[i].is_some()).collect();
        let kept_rewards: Vec<f64> = train_rewards.iter().flatten().copied().collect();
        let mut metrics = self.describe(&scored, &rollouts, &zero_std);
        metrics.num_gen_batches = used_rounds;
        metrics.trained_groups = keep.len() / g;
        metrics.seconds.sampling = sampling_s;
        metrics.seconds.scoring = scoring_s;
        let started = Instant::now();
        if !keep.is_empty() {
            let adv = advantages(&kept_rewards, g, cfg.scale_rewards)?;
            let mut full = vec![0.0; rollouts.len()];
            for (&i, a) in keep.iter().zip(&adv.values) {
                full[i] = *a;
            }
            self.update(&rollouts, &full, &keep, &mut metrics)?;
        }
        metrics.seconds.update = started.elapsed().as_secs_f64();
        metrics.step = self.optimizer.steps();
        let total = metrics.seconds.sampling + metrics.seconds.scoring + metrics.seconds.update;
        metrics.scoring_share = if total > 0.0 { metrics.seconds.scoring / total } else { 0.0 };
        Ok(metrics)
    }

    /// `G` completions for each prompt, grouped by prompt.
    fn rollouts(&mut self, model: &Model, prompts: &[Prompt]) -> Result<Vec<Rollout>, TrainError> {
        let expanded: Vec<Vec<u32>> =
            prompts.iter().flat_map(|p| std::iter::repeat_n(p.ids.clone(), self.config.num_generations)).collect();
        let mut sampling = self.config.sampling();
        sampling.stop_tokens = self.stop_tokens.clone();
        generate(model, &expanded, &sampling, self.tokenizer.pad_id(), &mut self.rng, &self.device)
    }

    /// The engine's scores of `rollouts` (grouped as [`Trainer::rollouts`] returns them).
    fn score(&self, prompts: &[Prompt], rollouts: &[Rollout]) -> Result<Vec<ScoredCompletion>, TrainError> {
        let g = self.config.num_generations;
        let texts: Vec<String> =
            rollouts.iter().map(|r| self.tokenizer.decode(&r.completion)).collect::<Result<_, _>>()?;
        let items: Vec<RewardItem<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let p = &prompts[i / g];
                RewardItem { prompt: &p.text, completion: t, answer: &p.answer }
            })
            .collect();
        let scored = self.rewards.score(&items);
        if scored.len() != items.len() {
            return Err(TrainError::Config(format!(
                "reward source returned {} scores for {}",
                scored.len(),
                items.len()
            )));
        }
        Ok(scored)
    }

    fn describe(&self, scored: &[ScoredCompletion], rollouts: &[Rollout], zero_std: &[bool]) -> StepMetrics {
        let rewards: Vec<f64> = scored.iter().map(|s| s.reward).collect();
        let (reward, reward_std) = mean_std(&rewards);
        let mut per_component: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
        for s in scored {
            for (name, value) in &s.components {
                per_component.entry(name.clone()).or_default().push(*value);
            }
        }
        let n = rollouts.len().max(1) as f64;
        StepMetrics {
            run: self.run.clone(),
            reward,
            reward_std,
            rewards: per_component
                .into_iter()
                .map(|(k, v)| {
                    let (mean, std) = mean_std(&v);
                    (k, ComponentStats { mean, std })
                })
                .collect(),
            accuracy: scored.iter().filter(|s| s.correct).count() as f64 / n,
            frac_reward_zero_std: zero_std.iter().filter(|&&z| z).count() as f64 / zero_std.len().max(1) as f64,
            mean_length: rollouts.iter().map(|r| r.completion.len()).sum::<usize>() as f64 / n,
            clipped_ratio: rollouts.iter().filter(|r| r.truncated).count() as f64 / n,
            reward_errors: scored.iter().filter(|s| s.error).count(),
            tokens_generated: rollouts.iter().map(|r| r.completion.len()).sum(),
            ..StepMetrics::default()
        }
    }

    fn update(
        &mut self,
        rollouts: &[Rollout],
        adv: &[f64],
        keep: &[usize],
        metrics: &mut StepMetrics,
    ) -> Result<(), TrainError> {
        let cfg = &self.config;
        let pad = self.tokenizer.pad_id();
        let chunks: Vec<&[usize]> = keep.chunks(cfg.micro_batch_size).collect();
        let mut packed = Vec::with_capacity(chunks.len());
        let mut total_tokens = 0.0;
        // Old-policy log-probs are needed only when the batch is reused (μ > 1). They come from
        // the training forward's own ops (not the sampler's fused kernels), so the first
        // iteration's ratio is exactly 1, as in TRL.
        let old_model = if cfg.num_iterations > 1 {
            let dtype = cfg.dtype.dtype();
            Some(Model::inference(&self.model_config, &self.weights, &self.device, dtype)?.with_fused_kernels(false))
        } else {
            None
        };
        for chunk in &chunks {
            let rows: Vec<&Rollout> = chunk.iter().map(|&i| &rollouts[i]).collect();
            let p = pack(&rows, pad, cfg.mask_truncated_completions, &self.device)?;
            total_tokens += p.mask.sum_all()?.to_scalar::<f32>()? as f64;
            let a: Vec<f32> = chunk.iter().map(|&i| adv[i] as f32).collect();
            let a = Tensor::from_vec(a, chunk.len(), &self.device)?;
            let old = match &old_model {
                Some(m) => Some(token_logprobs(m, &p, cfg.temperature)?.logp.detach()),
                None => None,
            };
            let reference = match &self.reference {
                Some(r) => Some(token_logprobs(r, &p, cfg.temperature)?.logp.detach()),
                None => None,
            };
            packed.push((p, a, old, reference));
        }
        let scale = LossScale { sequences: keep.len(), active_tokens: total_tokens, micro_batches: chunks.len() };
        for _ in 0..cfg.num_iterations {
            let model = Model::new_in(&self.model_config, &self.weights, &self.device, self.config.dtype.dtype())?;
            let mut grads: Gradients = Vec::new();
            let (mut loss_sum, mut kl, mut low, mut high, mut entropy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (p, a, old, reference) in &packed {
                let lp = token_logprobs(&model, p, cfg.temperature)?;
                let inputs = LossInputs {
                    logp: &lp.logp,
                    old_logp: old.as_ref(),
                    ref_logp: reference.as_ref(),
                    advantages: a,
                    mask: &p.mask,
                };
                let out = grpo_loss(&inputs, &cfg.loss, &scale)?;
                let value = out.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                if !value.is_finite() {
                    return Err(TrainError::NonFinite { what: "loss", step: self.optimizer.steps() + 1 });
                }
                loss_sum += value;
                let w = out.active_tokens / total_tokens.max(1.0);
                kl += out.kl * w;
                low += out.clip_low * w;
                high += out.clip_high * w;
                entropy += lp.entropy_sum;
                AdamW::accumulate(&mut grads, self.optimizer.gradients(&out.loss.backward()?))?;
            }
            let report = self.optimizer.step(&grads)?;
            metrics.loss = loss_sum;
            metrics.grad_norm = report.grad_norm;
            metrics.kl = kl;
            metrics.clip_low = low;
            metrics.clip_high = high;
            metrics.clip_region = low + high;
            metrics.entropy = entropy / total_tokens.max(1.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::init_weights;
    use crate::train::tokenizer::SymbolTokenizer;

    /// A development-only reward: 1 when the completion contains `answer`, else 0.
    struct ContainsAnswer;

    impl RewardSource for ContainsAnswer {
        fn score(&self, items: &[RewardItem<'_>]) -> Vec<ScoredCompletion> {
            items
                .iter()
                .map(|i| {
                    let ok = i.completion.contains(i.answer);
                    ScoredCompletion {
                        reward: ok as u8 as f64,
                        correct: ok,
                        components: [("exact".to_string(), ok as u8 as f64)].into_iter().collect(),
                        error: false,
                    }
                })
                .collect()
        }
    }

    #[test]
    fn dynamic_sampling_refills_the_batch_up_to_max_num_gen_batches() {
        let tok = TextTokenizer::Symbols(SymbolTokenizer::new(&["a", "b", "c", "?"]).unwrap());
        let dev = Device::Cpu;
        let cfg =
            ModelConfig { hidden_size: 32, intermediate_size: 64, max_position_embeddings: 8, ..ModelConfig::tiny(6) };
        // Every completion contains "": all rewards 1, no signal. "b" appears in some completions only.
        let dead = Prompt { text: "?".into(), ids: tok.encode("?").unwrap(), answer: String::new() };
        let live = Prompt { answer: "b".into(), ..dead.clone() };
        let config = GrpoConfig {
            num_generations: 8,
            prompts_per_step: 2,
            max_completion_length: 3,
            dynamic_sampling: true,
            max_num_gen_batches: 3,
            optimizer: AdamWConfig { learning_rate: 1e-3, ..AdamWConfig::default() },
            ..GrpoConfig::default()
        };
        let weights = init_weights(&cfg, &mut Rng::new(3), &dev).unwrap();
        let mut trainer = Trainer::new(cfg, weights, &tok, &ContainsAnswer, config.clone(), 17, dev).unwrap();
        let mut rounds = |batches: Vec<Vec<Prompt>>| {
            let mut batches = batches.into_iter();
            trainer.step_with(&mut || Ok(batches.next())).unwrap()
        };
        let (d, l) = (dead.clone(), live.clone());
        let refilled = rounds(vec![vec![d.clone(), d.clone()], vec![d.clone(), l.clone()], vec![l.clone(), l.clone()]]);
        assert_eq!((refilled.num_gen_batches, refilled.trained_groups, refilled.step), (3, 2, 1));
        assert_eq!(refilled.frac_reward_zero_std, 0.5, "3 of the 6 sampled groups had no signal");
        assert!(refilled.loss != 0.0 && refilled.grad_norm > 0.0);
        let full_early = rounds(vec![vec![l.clone(), l.clone()], vec![l.clone(), l.clone()]]);
        assert_eq!((full_early.num_gen_batches, full_early.trained_groups, full_early.step), (1, 2, 2));
        let bounded = rounds(vec![vec![d.clone(), d.clone()]; 5]);
        assert_eq!((bounded.num_gen_batches, bounded.trained_groups, bounded.step), (3, 0, 2), "no update");
        let exhausted = rounds(vec![vec![d.clone(), l.clone()]]);
        assert_eq!((exhausted.num_gen_batches, exhausted.trained_groups, exhausted.step), (1, 1, 3));
    }

    #[test]
    fn grpo_raises_the_reward_of_a_fixed_target_and_the_shuffled_control_does_not() {
        let tok = TextTokenizer::Symbols(SymbolTokenizer::new(&["a", "b", "c", "?"]).unwrap());
        let dev = Device::Cpu;
        let cfg =
            ModelConfig { hidden_size: 32, intermediate_size: 64, max_position_embeddings: 8, ..ModelConfig::tiny(6) };
        let prompt = Prompt { text: "?".into(), ids: tok.encode("?").unwrap(), answer: "b".into() };
        let config = GrpoConfig {
            num_generations: 8,
            prompts_per_step: 2,
            max_completion_length: 3,
            micro_batch_size: 5,
            num_iterations: 2,
            loss: LossConfig { beta: 0.04, epsilon_high: 0.28, max_completion_length: 3, ..LossConfig::default() },
            optimizer: AdamWConfig { learning_rate: 3e-2, ..AdamWConfig::default() },
            ..GrpoConfig::default()
        };
        let run = |shuffle: bool| {
            let weights = init_weights(&cfg, &mut Rng::new(3), &dev).unwrap();
            let config = GrpoConfig { shuffle_rewards: shuffle, ..config.clone() };
            let mut trainer =
                Trainer::new(cfg.clone(), weights, &tok, &ContainsAnswer, config, 17, dev.clone()).unwrap();
            let curve: Vec<StepMetrics> =
                (0..25).map(|_| trainer.step(&[prompt.clone(), prompt.clone()]).unwrap()).collect();
            curve
        };
        let learned = run(false);
        let first = learned[..5].iter().map(|m| m.reward).sum::<f64>() / 5.0;
        let last = learned[20..].iter().map(|m| m.reward).sum::<f64>() / 5.0;
        assert!(last > 0.8 && last > first + 0.3, "reward {first} -> {last}");
        assert!(learned.iter().all(|m| m.kl >= 0.0 && m.entropy > 0.0 && m.grad_norm.is_finite()));
        assert_eq!(learned.last().unwrap().step, 50, "two iterations per step");
        let control = run(true);
        let control_last = control[20..].iter().map(|m| m.reward).sum::<f64>() / 5.0;
        assert!(control_last < last - 0.3, "control {control_last} vs learned {last}");
    }
}
