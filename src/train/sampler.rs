//! Batched generation with a KV cache: temperature, top-p (nucleus) and stop tokens, drawn with
//! the trainer's own seeded [`Rng`] so a run is reproducible.
//!
//! Prompts of different lengths are left-padded and the padding is masked out of attention; with
//! RoPE this is exact (scores depend only on relative positions), so every completion starts at
//! the same column and one cached forward step serves the whole batch.
//!
//! Where the next token is drawn: on the CPU, on the host from the last position's logits with
//! the trainer's [`Rng`]. On a GPU, with `top_p = 1`, on the device: greedy is an argmax and a
//! temperature draw is the Gumbel-max trick (`argmax(logits / T + G)`, `G = -ln(-ln U)`, an exact
//! draw from `softmax(logits / T)`), with the device's generator seeded from the trainer's [`Rng`]
//! once per call; only `B` token ids cross to the host per step instead of `B × vocab` logits.
//! Nucleus sampling (`top_p < 1`) needs a sort of the vocabulary and stays on the host.

use candle_core::{D, DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::model::{KvCache, Model, attention_bias};
use super::rng::Rng;

/// How completions are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f64,
    /// Nucleus sampling: keep the most likely tokens whose probabilities sum to at least this (1 = off).
    pub top_p: f64,
    /// Most tokens generated per completion (TRL's `max_completion_length`); a completion that
    /// reaches it without a stop token is marked truncated.
    pub max_new_tokens: usize,
    /// Tokens that end a completion (kept as its last token, like EOS in TRL).
    pub stop_tokens: Vec<u32>,
}

/// One prompt with its sampled completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// The prompt's token ids.
    pub prompt: Vec<u32>,
    /// The completion's ids, ending with the stop token unless truncated.
    pub completion: Vec<u32>,
    /// Whether the completion hit `max_new_tokens` without a stop token.
    pub truncated: bool,
}

impl SamplingConfig {
    /// Checks the ranges: temperature ≥ 0, 0 < top_p ≤ 1, max_new_tokens ≥ 1.
    pub fn validate(&self) -> Result<(), TrainError> {
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(TrainError::Config(format!("temperature must be ≥ 0, got {}", self.temperature)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(TrainError::Config(format!("top_p must be in (0, 1], got {}", self.top_p)));
        }
        if self.max_new_tokens == 0 {
            return Err(TrainError::Config("max_new_tokens must be at least 1".into()));
        }
        Ok(())
    }
}

/// Draws one token id from a row of logits.
pub fn sample_token(logits: &[f32], config: &SamplingConfig, rng: &mut Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |best, (i, &l)| if l > best.1 { (i, l) } else { best })
            .0 as u32
    };
    if config.temperature == 0.0 {
        return argmax();
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(usize, f64)> =
        logits.iter().enumerate().map(|(i, &l)| (i, (((l - max) as f64) / config.temperature).exp())).collect();
    if config.top_p < 1.0 {
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = probs.iter().map(|p| p.1).sum();
        let mut cumulative = 0.0;
        let mut keep = probs.len();
        for (k, p) in probs.iter().enumerate() {
            cumulative += p.1 / total;
            if cumulative >= config.top_p {
                keep = k + 1;
                break;
            }
        }
        probs.truncate(keep);
    }
    let total: f64 = probs.iter().map(|p| p.1).sum();
    if !(total > 0.0 && total.is_finite()) {
        return argmax();
    }
    let mut draw = rng.uniform() * total;
    for &(i, p) in &probs {
        draw -= p;
        if draw < 0.0 {
            return i as u32;
        }
    }
    probs.last().map_or_else(argmax, |p| p.0 as u32)
}

/// Whether [`generate`] draws tokens on the device (see the module docs) rather than on the host.
pub fn draws_on_device(config: &SamplingConfig, device: &Device) -> bool {
    !device.is_cpu() && config.top_p >= 1.0
}

/// Draws one token per row of `logits` (`batch × vocab`, f32) on their device: the argmax at
/// temperature 0, otherwise the argmax of `logits / temperature` plus Gumbel noise made from
/// `uniform` (same shape, values in [0, 1]; clamped away from 0 and 1 so no noise is infinite).
pub fn gumbel_argmax(logits: &Tensor, temperature: f64, uniform: Option<&Tensor>) -> Result<Vec<u32>, TrainError> {
    let scores = match uniform {
        Some(u) if temperature > 0.0 => {
            // 2^-24 below 1: the largest f32 under 1 that curand's (0, 1] can round to.
            let u = u.clamp(1e-30f32, 1.0 - f32::EPSILON / 2.0)?;
            let gumbel = u.log()?.neg()?.log()?.neg()?;
            ((logits / temperature)? + gumbel)?
        }
        _ => logits.clone(),
    };
    Ok(scores.argmax(D::Minus1)?.to_vec1::<u32>()?)
}

/// Generates one completion per prompt, all prompts in one batch.
pub fn generate(
    model: &Model,
    prompts: &[Vec<u32>],
    config: &SamplingConfig,
    pad_id: u32,
    rng: &mut Rng,
    device: &Device,
) -> Result<Vec<Rollout>, TrainError> {
    config.validate()?;
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(i) = prompts.iter().position(|p| p.is_empty()) {
        return Err(TrainError::Config(format!("prompt {i} is empty")));
    }
    let batch = prompts.len();
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let limit = model.config().max_position_embeddings;
    if width + config.max_new_tokens > limit {
        return Err(TrainError::TooLong { len: width + config.max_new_tokens, max: limit });
    }
    let mut ids = Vec::with_capacity(batch * width);
    let mut valid: Vec<Vec<bool>> = Vec::with_capacity(batch);
    for p in prompts {
        let pad = width - p.len();
        ids.extend(std::iter::repeat_n(pad_id, pad).chain(p.iter().copied()));
        valid.push((0..width).map(|j| j >= pad).collect());
    }
    let mut cache = KvCache::new();
    let input = Tensor::from_vec(ids, (batch, width), device)?;
    let bias = attention_bias(&valid, 0, width, device)?;
    let hidden = model.hidden(&input, 0, &bias, Some(&mut cache))?;
    let mut logits = model.logits(&hidden.narrow(1, width - 1, 1)?)?;
    let mut completions: Vec<Vec<u32>> = vec![Vec::new(); batch];
    let mut done = vec![false; batch];
    let on_device = draws_on_device(config, device);
    if on_device && config.temperature > 0.0 {
        device.set_seed(rng.next_u64())?;
    }
    for step in 0..config.max_new_tokens {
        let last = logits.squeeze(1)?.to_dtype(DType::F32)?;
        let drawn: Vec<u32> = if on_device {
            let uniform =
                if config.temperature > 0.0 { Some(Tensor::rand(0f32, 1f32, last.shape(), device)?) } else { None };
            gumbel_argmax(&last, config.temperature, uniform.as_ref())?
        } else {
            // Finished rows draw nothing, so the generator's stream depends only on live rows.
            let rows = last.to_vec2::<f32>()?;
            rows.iter().zip(&done).map(|(row, &d)| if d { pad_id } else { sample_token(row, config, rng) }).collect()
        };
        let mut next = Vec::with_capacity(batch);
        for (b, token) in drawn.into_iter().enumerate() {
            if done[b] {
                next.push(pad_id);
                continue;
            }
            completions[b].push(token);
            if config.stop_tokens.contains(&token) {
                done[b] = true;
            }
            next.push(token);
        }
        if done.iter().all(|&d| d) || step + 1 == config.max_new_tokens {
            break;
        }
        let offset = width + step;
        for row in valid.iter_mut() {
            row.push(true);
        }
        let bias = attention_bias(&valid, offset, 1, device)?;
        let input = Tensor::from_vec(next, (batch, 1), device)?;
        logits = model.logits(&model.hidden(&input, offset, &bias, Some(&mut cache))?)?;
    }
    Ok(prompts
        .iter()
        .zip(completions)
        .zip(done)
        .map(|((p, c), d)| Rollout { prompt: p.clone(), completion: c, truncated: !d })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::{ModelConfig, init_weights};

    fn setup() -> (Model, Device) {
        let cfg = ModelConfig { max_position_embeddings: 24, ..ModelConfig::tiny(12) };
        let dev = Device::Cpu;
        let weights = init_weights(&cfg, &mut Rng::new(5), &dev).unwrap();
        (Model::new(&cfg, &weights, &dev).unwrap(), dev)
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_greedy_matches_recompute() {
        let (model, dev) = setup();
        let prompts = vec![vec![3, 4, 5], vec![6, 7], vec![8]];
        let cfg = SamplingConfig { temperature: 1.0, top_p: 0.9, max_new_tokens: 6, stop_tokens: vec![1] };
        let a = generate(&model, &prompts, &cfg, 0, &mut Rng::new(9), &dev).unwrap();
        let b = generate(&model, &prompts, &cfg, 0, &mut Rng::new(9), &dev).unwrap();
        assert_eq!(a, b);
        // Greedy with the cache equals greedy by full recomputation, one prompt at a time.
        let greedy = SamplingConfig { temperature: 0.0, ..cfg };
        let batched = generate(&model, &prompts, &greedy, 0, &mut Rng::new(0), &dev).unwrap();
        for (prompt, rollout) in prompts.iter().zip(&batched) {
            let mut seq = prompt.clone();
            for _ in 0..rollout.completion.len() {
                let n = seq.len();
                let ids = Tensor::new(seq.as_slice(), &dev).unwrap().unsqueeze(0).unwrap();
                let bias = attention_bias(&[vec![true; n]], 0, n, &dev).unwrap();
                let logits = model.logits(&model.hidden(&ids, 0, &bias, None).unwrap()).unwrap();
                let row = logits.narrow(1, n - 1, 1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
                seq.push(sample_token(&row, &greedy, &mut Rng::new(0)));
            }
            assert_eq!(&seq[prompt.len()..], rollout.completion.as_slice());
            assert_eq!(rollout.truncated, !rollout.completion.ends_with(&[1]));
        }
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        let logits = [5.0f32, 4.0, -5.0, -6.0];
        let cfg = SamplingConfig { temperature: 1.0, top_p: 0.5, max_new_tokens: 1, stop_tokens: vec![] };
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            assert_eq!(sample_token(&logits, &cfg, &mut rng), 0);
        }
        let cfg = SamplingConfig { top_p: 0.99, ..cfg };
        let seen: std::collections::BTreeSet<u32> = (0..500).map(|_| sample_token(&logits, &cfg, &mut rng)).collect();
        assert_eq!(seen, [0, 1].into_iter().collect());
    }

    #[test]
    fn device_draw_is_an_exact_softmax_sample_and_greedy_is_the_argmax() {
        let dev = Device::Cpu;
        let (rows, probs) = (4000usize, [0.6439f64, 0.2369, 0.0871, 0.0321]); // softmax([2, 1, 0, -1])
        let logits = Tensor::new(&[2.0f32, 1.0, 0.0, -1.0], &dev).unwrap().unsqueeze(0).unwrap();
        let logits = logits.broadcast_as((rows, 4)).unwrap().contiguous().unwrap();
        let mut rng = Rng::new(3);
        let u: Vec<f32> = (0..rows * 4).map(|_| rng.uniform() as f32).collect();
        let u = Tensor::from_vec(u, (rows, 4), &dev).unwrap();
        let drawn = gumbel_argmax(&logits, 1.0, Some(&u)).unwrap();
        for (token, p) in probs.iter().enumerate() {
            let freq = drawn.iter().filter(|&&t| t as usize == token).count() as f64 / rows as f64;
            // Four standard errors of a frequency over 4000 draws.
            assert!((freq - p).abs() < 4.0 * (p * (1.0 - p) / rows as f64).sqrt(), "token {token}: {freq} vs {p}");
        }
        // Halving the temperature sharpens: token 0 gets softmax([4, 2, 0, -2])[0] ≈ 0.867.
        let sharp = gumbel_argmax(&logits, 0.5, Some(&u)).unwrap();
        let freq = sharp.iter().filter(|&&t| t == 0).count() as f64 / rows as f64;
        assert!((freq - 0.8668).abs() < 0.022, "{freq}");
        // Greedy ignores the noise and agrees with the host's argmax.
        let row = [0.5f32, 3.0, -1.0, 2.9];
        let one = Tensor::new(&row, &dev).unwrap().unsqueeze(0).unwrap();
        let greedy = SamplingConfig { temperature: 0.0, top_p: 1.0, max_new_tokens: 1, stop_tokens: vec![] };
        assert_eq!(gumbel_argmax(&one, 0.0, Some(&u.narrow(0, 0, 1).unwrap())).unwrap(), vec![1]);
        assert_eq!(sample_token(&row, &greedy, &mut rng), 1);
        // A generator value of exactly 1 (curand's range is (0, 1]) or 0 gives finite noise: a
        // token of probability ~1e-13 does not win with it.
        let rare = Tensor::new(&[[0.0f32, -30.0]], &dev).unwrap();
        let edge = Tensor::new(&[[0.0f32, 1.0]], &dev).unwrap();
        assert_eq!(gumbel_argmax(&rare, 1.0, Some(&edge)).unwrap(), vec![0]);
        assert!(!draws_on_device(&greedy, &dev), "the CPU draws on the host with the trainer's generator");
    }

    #[test]
    fn length_limit_boundary() {
        let (model, dev) = setup();
        let max = model.config().max_position_embeddings;
        let prompt = vec![vec![3u32; 4]];
        let at = SamplingConfig { temperature: 0.0, top_p: 1.0, max_new_tokens: max - 4, stop_tokens: vec![] };
        let out = generate(&model, &prompt, &at, 0, &mut Rng::new(0), &dev).unwrap();
        assert_eq!(out[0].completion.len(), max - 4);
        assert!(out[0].truncated);
        let past = SamplingConfig { max_new_tokens: max - 3, ..at };
        assert!(matches!(generate(&model, &prompt, &past, 0, &mut Rng::new(0), &dev), Err(TrainError::TooLong { .. })));
        let bad = SamplingConfig { top_p: 0.0, ..SamplingConfig { max_new_tokens: 1, ..past } };
        assert!(matches!(bad.validate(), Err(TrainError::Config(_))));
    }
}
