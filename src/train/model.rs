//! A Llama/Qwen2-style decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) written with
//! differentiable candle ops only, for both training and KV-cache sampling.
//!
//! candle-nn 0.11's fused kernels have no backward pass, so this file never calls them: RMSNorm is
//! `x / sqrt(mean(x²) + ε) · w`, attention uses `candle_nn::ops::softmax` (a composite of
//! `exp`/`sum`), and RoPE uses `rope_slow` / `rope_i_slow`. The same code serves a tiny
//! from-scratch model and real checkpoints: weights are looked up by their Hugging Face names
//! (`model.layers.0.self_attn.q_proj.weight`, …), and GGUF files (whose Q/K rows are permuted
//! for interleaved RoPE) set [`ModelConfig::rope_interleaved`].

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::rng::Rng;

/// The shape of a decoder; field names follow Hugging Face's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Number of token ids.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU feed-forward layer.
    pub intermediate_size: usize,
    /// Number of decoder blocks.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention when fewer than query heads).
    pub num_key_value_heads: usize,
    /// RoPE base frequency.
    pub rope_theta: f64,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Longest sequence (prompt + completion) the model accepts; longer is [`TrainError::TooLong`].
    pub max_position_embeddings: usize,
    /// Whether the output head shares the token embedding matrix.
    pub tie_word_embeddings: bool,
    /// Interleaved RoPE pairs (GGUF's permuted Q/K) instead of Hugging Face's rotate-half layout.
    #[serde(default)]
    pub rope_interleaved: bool,
    /// Biases on the query, key and value projections (Qwen2's layout).
    #[serde(default)]
    pub qkv_bias: bool,
}

impl ModelConfig {
    /// The small from-scratch model of the CPU demo (about 0.4 M parameters for a 30-token vocabulary).
    pub fn tiny(vocab_size: usize) -> ModelConfig {
        ModelConfig {
            vocab_size,
            hidden_size: 128,
            intermediate_size: 256,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            rope_theta: 10_000.0,
            rms_norm_eps: 1e-5,
            max_position_embeddings: 64,
            tie_word_embeddings: true,
            rope_interleaved: false,
            qkv_bias: false,
        }
    }

    /// The width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// Checks the divisibility rules attention needs.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.vocab_size == 0 || self.hidden_size == 0 || self.num_hidden_layers == 0 {
            return bad("vocab_size, hidden_size and num_hidden_layers must be positive".into());
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.num_key_value_heads == 0 || !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!("head_dim {} must be even for RoPE", self.head_dim()));
        }
        Ok(())
    }

    /// Every weight's Hugging Face name and shape.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, f, v) = (self.hidden_size, self.intermediate_size, self.vocab_size);
        let kv = self.num_key_value_heads * self.head_dim();
        let mut shapes = vec![("model.embed_tokens.weight".to_string(), vec![v, d])];
        for i in 0..self.num_hidden_layers {
            let p = format!("model.layers.{i}");
            shapes.push((format!("{p}.input_layernorm.weight"), vec![d]));
            shapes.push((format!("{p}.self_attn.q_proj.weight"), vec![d, d]));
            shapes.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, d]));
            shapes.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, d]));
            if self.qkv_bias {
                shapes.push((format!("{p}.self_attn.q_proj.bias"), vec![d]));
                shapes.push((format!("{p}.self_attn.k_proj.bias"), vec![kv]));
                shapes.push((format!("{p}.self_attn.v_proj.bias"), vec![kv]));
            }
            shapes.push((format!("{p}.self_attn.o_proj.weight"), vec![d, d]));
            shapes.push((format!("{p}.post_attention_layernorm.weight"), vec![d]));
            shapes.push((format!("{p}.mlp.gate_proj.weight"), vec![f, d]));
            shapes.push((format!("{p}.mlp.up_proj.weight"), vec![f, d]));
            shapes.push((format!("{p}.mlp.down_proj.weight"), vec![d, f]));
        }
        shapes.push(("model.norm.weight".to_string(), vec![d]));
        if !self.tie_word_embeddings {
            shapes.push(("lm_head.weight".to_string(), vec![v, d]));
        }
        shapes
    }
}

/// Trainable weights by Hugging Face name.
pub type Weights = BTreeMap<String, Var>;

/// Fresh weights from a seeded generator: norms 1, matrices N(0, 0.02²), output projections
/// scaled down by √(2·layers) (GPT-2's residual scaling).
pub fn init_weights(config: &ModelConfig, rng: &mut Rng, device: &Device) -> Result<Weights, TrainError> {
    config.validate()?;
    let residual_scale = 1.0 / (2.0 * config.num_hidden_layers as f64).sqrt();
    let mut weights = Weights::new();
    for (name, shape) in config.parameter_shapes() {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = if name.ends_with("norm.weight") {
            vec![1.0; n]
        } else if name.ends_with(".bias") {
            (0..n).map(|_| (rng.normal() * 0.02) as f32).collect()
        } else {
            let std = if name.contains("o_proj") || name.contains("down_proj") { 0.02 * residual_scale } else { 0.02 };
            (0..n).map(|_| (rng.normal() * std) as f32).collect()
        };
        let tensor = Tensor::from_vec(values, shape, device)?;
        weights.insert(name, Var::from_tensor(&tensor)?);
    }
    Ok(weights)
}

/// Per-layer key/value tensors of the positions seen so far, `(batch, kv_heads, len, head_dim)`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> KvCache {
        KvCache::default()
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dim(2).unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct Layer {
    input_norm: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    /// Query, key and value biases (Qwen2), when the config has them.
    qkv_bias: Option<[Tensor; 3]>,
    o: Tensor,
    post_norm: Tensor,
    gate: Tensor,
    up: Tensor,
    down: Tensor,
}

/// The decoder. Built from [`Weights`] (trainable) or from frozen tensors (a reference model).
pub struct Model {
    config: ModelConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    dtype: DType,
    /// Whether RMSNorm, RoPE and softmax run as candle's fused kernels (one launch each instead
    /// of several). They have no backward pass, so only [`Model::inference`] on a GPU, where the
    /// per-token forward is bound by kernel launches, turns them on.
    fused: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("config", &self.config).finish_non_exhaustive()
    }
}

/// `x @ wᵀ` for `x` of shape `(…, in)` and `w` of shape `(out, in)`.
fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let dims = x.dims();
    let (lead, inner) = dims.split_at(dims.len() - 1);
    let rows: usize = lead.iter().product();
    let out = x.reshape((rows, inner[0]))?.matmul(&w.t()?)?;
    let mut shape = lead.to_vec();
    shape.push(w.dim(0)?);
    out.reshape(shape)
}

/// RMSNorm as a composite of differentiable ops (candle-nn's fused `rms_norm` has no backward),
/// computed in f32 whatever the activations' dtype and cast back before the weight, as
/// transformers' `LlamaRMSNorm` does.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let dtype = x.dtype();
    let x = x.to_dtype(DType::F32)?;
    let mean_square = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(mean_square + eps)?.sqrt()?)?.to_dtype(dtype)?.broadcast_mul(weight)
}

impl Model {
    /// A model over trainable weights in f32; gradients flow into every `Var`.
    pub fn new(config: &ModelConfig, weights: &Weights, device: &Device) -> Result<Model, TrainError> {
        Model::new_in(config, weights, device, DType::F32)
    }

    /// A model computing in `dtype` over trainable weights (the f32 master copy): each weight is
    /// cast once here, and gradients flow back through the cast into the f32 `Var`s, so the
    /// optimizer state and updates stay in f32. Build a new one after each optimizer step.
    pub fn new_in(config: &ModelConfig, weights: &Weights, device: &Device, dtype: DType) -> Result<Model, TrainError> {
        let tensors: BTreeMap<String, Tensor> =
            weights.iter().map(|(name, var)| (name.clone(), var.as_tensor().clone())).collect();
        Model::from_tensors_in(config, &tensors, device, dtype)
    }

    /// A model for sampling and evaluation over the current weights, computing in `dtype`: the
    /// tensors are detached (shared storage, no copy), so no op records a backward graph. A model
    /// over the `Var`s themselves would make every generated step's KV cache hold the graph of
    /// all the steps before it (on the GPU, 256 tokens of 20 prompts filled 143 GB). On a GPU it
    /// uses the fused kernels (see [`Model::with_fused_kernels`]); on the CPU it computes exactly
    /// what the training model computes.
    pub fn inference(
        config: &ModelConfig,
        weights: &Weights,
        device: &Device,
        dtype: DType,
    ) -> Result<Model, TrainError> {
        let tensors: BTreeMap<String, Tensor> =
            weights.iter().map(|(name, var)| (name.clone(), var.as_tensor().detach())).collect();
        Ok(Model::from_tensors_in(config, &tensors, device, dtype)?.with_fused_kernels(!device.is_cpu()))
    }

    /// Runs RMSNorm, RoPE and the attention softmax as candle's fused kernels (`on`) or as
    /// differentiable compositions of basic ops (the default). Fused kernels have no backward
    /// pass: use them only where no gradient is taken.
    pub fn with_fused_kernels(mut self, on: bool) -> Model {
        self.fused = on;
        self
    }

    /// A frozen copy of trainable weights (a KL reference model): later optimizer steps do not change it.
    pub fn frozen_copy(config: &ModelConfig, weights: &Weights, device: &Device) -> Result<Model, TrainError> {
        Model::frozen_copy_in(config, weights, device, DType::F32)
    }

    /// [`Model::frozen_copy`] computing in `dtype`.
    pub fn frozen_copy_in(
        config: &ModelConfig,
        weights: &Weights,
        device: &Device,
        dtype: DType,
    ) -> Result<Model, TrainError> {
        let mut tensors = BTreeMap::new();
        for (name, var) in weights {
            tensors.insert(name.clone(), var.as_tensor().copy()?.detach());
        }
        Model::from_tensors_in(config, &tensors, device, dtype)
    }

    /// A model over the given tensors in f32, checked by name and shape.
    pub fn from_tensors(
        config: &ModelConfig,
        tensors: &BTreeMap<String, Tensor>,
        device: &Device,
    ) -> Result<Model, TrainError> {
        Model::from_tensors_in(config, tensors, device, DType::F32)
    }

    /// A model over the given tensors computing in `dtype` (f32, bf16 or f16): weights, rotary
    /// tables and activations take `dtype`; RMSNorm, attention softmax and the logits are f32.
    pub fn from_tensors_in(
        config: &ModelConfig,
        tensors: &BTreeMap<String, Tensor>,
        device: &Device,
        dtype: DType,
    ) -> Result<Model, TrainError> {
        if !matches!(dtype, DType::F32 | DType::BF16 | DType::F16) {
            return Err(TrainError::Config(format!("compute dtype {dtype:?}: expected f32, bf16 or f16")));
        }
        config.validate()?;
        let shapes: BTreeMap<String, Vec<usize>> = config.parameter_shapes().into_iter().collect();
        let get = |name: &str| -> Result<Tensor, TrainError> {
            let t = tensors.get(name).ok_or_else(|| TrainError::Weights(format!("missing tensor `{name}`")))?;
            if let Some(shape) = shapes.get(name)
                && t.dims() != shape.as_slice()
            {
                return Err(TrainError::Weights(format!("`{name}` has shape {:?}, expected {shape:?}", t.dims())));
            }
            Ok(t.to_dtype(dtype)?)
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            layers.push(Layer {
                input_norm: get(&format!("{p}.input_layernorm.weight"))?,
                q: get(&format!("{p}.self_attn.q_proj.weight"))?,
                k: get(&format!("{p}.self_attn.k_proj.weight"))?,
                v: get(&format!("{p}.self_attn.v_proj.weight"))?,
                qkv_bias: if config.qkv_bias {
                    Some([
                        get(&format!("{p}.self_attn.q_proj.bias"))?,
                        get(&format!("{p}.self_attn.k_proj.bias"))?,
                        get(&format!("{p}.self_attn.v_proj.bias"))?,
                    ])
                } else {
                    None
                },
                o: get(&format!("{p}.self_attn.o_proj.weight"))?,
                post_norm: get(&format!("{p}.post_attention_layernorm.weight"))?,
                gate: get(&format!("{p}.mlp.gate_proj.weight"))?,
                up: get(&format!("{p}.mlp.up_proj.weight"))?,
                down: get(&format!("{p}.mlp.down_proj.weight"))?,
            });
        }
        let embed = get("model.embed_tokens.weight")?;
        let lm_head = if config.tie_word_embeddings { embed.clone() } else { get("lm_head.weight")? };
        let half = config.head_dim() / 2;
        let inv_freq: Vec<f32> =
            (0..half).map(|i| 1.0 / config.rope_theta.powf(2.0 * i as f64 / config.head_dim() as f64) as f32).collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, half), device)?;
        let positions = Tensor::arange(0u32, config.max_position_embeddings as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((config.max_position_embeddings, 1))?;
        let freqs = positions.broadcast_mul(&inv_freq)?;
        Ok(Model {
            config: config.clone(),
            embed,
            layers,
            norm: get("model.norm.weight")?,
            lm_head,
            cos: freqs.cos()?.to_dtype(dtype)?,
            sin: freqs.sin()?.to_dtype(dtype)?,
            dtype,
            fused: false,
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Final-normed hidden states `(batch, len, hidden)` of `ids` `(batch, len)` whose first
    /// position is `offset`. `bias` is an additive attention mask `(batch, 1, len, offset + len)`
    /// (see [`attention_bias`]); with a `cache`, keys and values are appended to it.
    pub fn hidden(
        &self,
        ids: &Tensor,
        offset: usize,
        bias: &Tensor,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor, TrainError> {
        let (batch, len) = ids.dims2()?;
        if offset + len > self.config.max_position_embeddings {
            return Err(TrainError::TooLong { len: offset + len, max: self.config.max_position_embeddings });
        }
        let cfg = &self.config;
        let (heads, kv_heads, head_dim) = (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim());
        let cos = self.cos.narrow(0, offset, len)?.contiguous()?;
        let sin = self.sin.narrow(0, offset, len)?.contiguous()?;
        let fused = self.fused;
        let rope = |x: &Tensor| -> candle_core::Result<Tensor> {
            match (cfg.rope_interleaved, fused) {
                (true, false) => candle_nn::rotary_emb::rope_i_slow(x, &cos, &sin),
                (false, false) => candle_nn::rotary_emb::rope_slow(x, &cos, &sin),
                (true, true) => candle_nn::rotary_emb::rope_i(x, &cos, &sin),
                (false, true) => candle_nn::rotary_emb::rope(x, &cos, &sin),
            }
        };
        let norm = |x: &Tensor, w: &Tensor| -> candle_core::Result<Tensor> {
            if fused {
                candle_nn::ops::rms_norm(x, w, cfg.rms_norm_eps as f32)
            } else {
                rms_norm(x, w, cfg.rms_norm_eps)
            }
        };
        if let Some(cache) = cache.as_deref_mut()
            && cache.layers.len() != self.layers.len()
        {
            cache.layers = vec![None; self.layers.len()];
        }
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((batch, len, cfg.hidden_size))?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        for (i, layer) in self.layers.iter().enumerate() {
            let h = norm(&x, &layer.input_norm)?;
            let project = |w: &Tensor, slot: usize, n: usize| -> candle_core::Result<Tensor> {
                let mut y = linear(&h, w)?;
                if let Some(b) = &layer.qkv_bias {
                    y = y.broadcast_add(&b[slot])?;
                }
                y.reshape((batch, len, n, head_dim))?.transpose(1, 2)?.contiguous()
            };
            let q = project(&layer.q, 0, heads)?;
            let k = project(&layer.k, 1, kv_heads)?;
            let v = project(&layer.v, 2, kv_heads)?;
            let q = rope(&q)?;
            let mut k = rope(&k)?;
            let mut v = v;
            if let Some(cache) = cache.as_deref_mut() {
                if let Some((pk, pv)) = &cache.layers[i] {
                    k = Tensor::cat(&[pk, &k], 2)?;
                    v = Tensor::cat(&[pv, &v], 2)?;
                }
                cache.layers[i] = Some((k.clone(), v.clone()));
            }
            let total = k.dim(2)?;
            let (k, v) = if kv_heads == heads {
                (k, v)
            } else {
                let rep = heads / kv_heads;
                let expand = |t: &Tensor| {
                    t.unsqueeze(2)?
                        .broadcast_as((batch, kv_heads, rep, total, head_dim))?
                        .reshape((batch, heads, total, head_dim))
                };
                (expand(&k)?, expand(&v)?)
            };
            // Scores, mask and softmax in f32 (transformers' eager attention upcasts the same way).
            let scores = (q.matmul(&k.t()?)? * scale)?.to_dtype(DType::F32)?.broadcast_add(bias)?;
            let probs = if fused {
                candle_nn::ops::softmax_last_dim(&scores)?
            } else {
                candle_nn::ops::softmax(&scores, D::Minus1)?
            };
            let probs = probs.to_dtype(self.dtype)?;
            let attn = probs.matmul(&v)?.transpose(1, 2)?.reshape((batch, len, cfg.hidden_size))?;
            x = (x + linear(&attn, &layer.o)?)?;
            let h = norm(&x, &layer.post_norm)?;
            let ff = (linear(&h, &layer.gate)?.silu()? * linear(&h, &layer.up)?)?;
            x = (x + linear(&ff, &layer.down)?)?;
        }
        Ok(norm(&x, &self.norm)?)
    }

    /// The dtype weights and activations are computed in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Logits `(…, vocab)` of hidden states `(…, hidden)`, in f32.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor, TrainError> {
        Ok(linear(hidden, &self.lm_head)?.to_dtype(DType::F32)?)
    }
}

/// The additive attention mask `(batch, 1, len, offset + len)`: 0 where query `offset + i` may see
/// key `j` (causal, and `key_valid[b][j]`), −1e9 elsewhere. Left padding is exact under RoPE:
/// scores depend only on relative positions, and masked keys are never seen.
pub fn attention_bias(
    key_valid: &[Vec<bool>],
    offset: usize,
    len: usize,
    device: &Device,
) -> Result<Tensor, TrainError> {
    let keys = offset + len;
    let mut values = Vec::with_capacity(key_valid.len() * len * keys);
    for row in key_valid {
        if row.len() != keys {
            return Err(TrainError::Config(format!("key mask has {} positions, expected {keys}", row.len())));
        }
        for i in 0..len {
            for (j, &valid) in row.iter().enumerate() {
                values.push(if valid && j <= offset + i { 0f32 } else { -1e9 });
            }
        }
    }
    Ok(Tensor::from_vec(values, (key_valid.len(), 1, len, keys), device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ModelConfig {
        ModelConfig {
            hidden_size: 32,
            intermediate_size: 48,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            max_position_embeddings: 16,
            tie_word_embeddings: false,
            ..ModelConfig::tiny(11)
        }
    }

    #[test]
    fn every_weight_receives_a_nonzero_gradient() {
        let cases = [(false, false, DType::F32), (true, false, DType::F32), (false, true, DType::F32)];
        // Half precision: gradients flow back through the casts into the f32 master weights.
        let half = [(false, true, DType::BF16), (true, false, DType::F16)];
        for (interleaved, qkv_bias, dtype) in cases.into_iter().chain(half) {
            let cfg = ModelConfig { rope_interleaved: interleaved, qkv_bias, ..small() };
            let dev = Device::Cpu;
            let weights = init_weights(&cfg, &mut Rng::new(1), &dev).unwrap();
            let model = Model::new_in(&cfg, &weights, &dev, dtype).unwrap();
            let ids = Tensor::new(&[[3u32, 4, 5, 6, 7], [8, 9, 10, 2, 1]], &dev).unwrap();
            let bias = attention_bias(&[vec![true; 5], vec![false, true, true, true, true]], 0, 5, &dev).unwrap();
            let logits = model.logits(&model.hidden(&ids, 0, &bias, None).unwrap()).unwrap();
            let logp = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap();
            let targets = Tensor::new(&[[4u32, 5, 6, 7, 8], [9, 10, 2, 1, 3]], &dev).unwrap();
            let picked = logp.gather(&targets.unsqueeze(2).unwrap(), 2).unwrap();
            let loss = picked.mean_all().unwrap().neg().unwrap();
            let grads = loss.backward().unwrap();
            assert_eq!(weights.len(), cfg.parameter_shapes().len());
            for (name, var) in &weights {
                let g = grads.get(var).unwrap_or_else(|| panic!("{name} got no gradient ({interleaved}, {dtype:?})"));
                assert_eq!(g.dtype(), DType::F32, "{name}: the master weight's gradient is f32");
                let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(norm > 0.0 && norm.is_finite(), "{name}: gradient norm {norm}");
            }
        }
    }

    #[test]
    fn inference_models_record_no_graph() {
        let cfg = small();
        let dev = Device::Cpu;
        let weights = init_weights(&cfg, &mut Rng::new(5), &dev).unwrap();
        let ids = Tensor::new(&[[3u32, 4, 5]], &dev).unwrap();
        let bias = attention_bias(&[vec![true; 3]], 0, 3, &dev).unwrap();
        for dtype in [DType::F32, DType::BF16] {
            let mut cache = KvCache::new();
            let model = Model::inference(&cfg, &weights, &dev, dtype).unwrap();
            let hidden = model.hidden(&ids, 0, &bias, Some(&mut cache)).unwrap();
            // A tracked op here would make each generated token's cache hold every earlier graph.
            assert!(!hidden.track_op(), "{dtype:?}: sampling forward recorded a graph");
            let (k, v) = cache.layers[0].as_ref().unwrap();
            assert!(!k.track_op() && !v.track_op());
            let trained = Model::new_in(&cfg, &weights, &dev, dtype).unwrap();
            assert!(trained.hidden(&ids, 0, &bias, None).unwrap().track_op(), "training forward must record");
        }
    }

    #[test]
    fn fused_kernels_compute_what_the_differentiable_ops_compute() {
        let dev = Device::Cpu;
        for interleaved in [false, true] {
            let cfg = ModelConfig { rope_interleaved: interleaved, ..small() };
            let weights = init_weights(&cfg, &mut Rng::new(6), &dev).unwrap();
            // Two left-padded rows, then one cached step: the path the sampler takes.
            let ids = Tensor::new(&[[0u32, 3, 4, 5], [6, 7, 8, 9]], &dev).unwrap();
            let valid = vec![vec![false, true, true, true], vec![true; 4]];
            let bias = attention_bias(&valid, 0, 4, &dev).unwrap();
            for (dtype, tolerance) in [(DType::F32, 1e-4), (DType::BF16, 0.05)] {
                let run = |fused: bool| {
                    let model = Model::inference(&cfg, &weights, &dev, dtype).unwrap().with_fused_kernels(fused);
                    let mut cache = KvCache::new();
                    let first = model.logits(&model.hidden(&ids, 0, &bias, Some(&mut cache)).unwrap()).unwrap();
                    let mut keys = valid.clone();
                    keys.iter_mut().for_each(|row| row.push(true));
                    let step_bias = attention_bias(&keys, 4, 1, &dev).unwrap();
                    let next = Tensor::new(&[[10u32], [2]], &dev).unwrap();
                    let second = model.logits(&model.hidden(&next, 4, &step_bias, Some(&mut cache)).unwrap()).unwrap();
                    Tensor::cat(&[first, second], 1).unwrap()
                };
                let (plain, fused) = (run(false), run(true));
                let scale = plain.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                let diff = (plain - fused).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(diff <= tolerance * scale.max(1.0), "{interleaved} {dtype:?}: fused logits differ by {diff}");
            }
        }
    }

    #[test]
    fn half_precision_logits_follow_f32() {
        let cfg = small();
        let dev = Device::Cpu;
        let weights = init_weights(&cfg, &mut Rng::new(4), &dev).unwrap();
        let ids = Tensor::new(&[[3u32, 4, 5, 6, 7]], &dev).unwrap();
        let bias = attention_bias(&[vec![true; 5]], 0, 5, &dev).unwrap();
        let logits = |dtype| {
            let model = Model::new_in(&cfg, &weights, &dev, dtype).unwrap();
            assert_eq!(model.dtype(), dtype);
            model.logits(&model.hidden(&ids, 0, &bias, None).unwrap()).unwrap()
        };
        let full = logits(DType::F32);
        let scale = full.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        for (dtype, tolerance) in [(DType::BF16, 0.05), (DType::F16, 0.01)] {
            let half = logits(dtype);
            assert_eq!(half.dtype(), DType::F32, "logits are f32 whatever the compute dtype");
            let diff = (half - &full).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff <= tolerance * scale.max(1.0), "{dtype:?}: max |Δlogit| {diff} (scale {scale})");
        }
        assert!(Model::new_in(&cfg, &weights, &dev, DType::U8).is_err());
    }

    #[test]
    fn kv_cache_matches_full_forward_and_left_padding_is_exact() {
        let cfg = small();
        let dev = Device::Cpu;
        let weights = init_weights(&cfg, &mut Rng::new(2), &dev).unwrap();
        let model = Model::new(&cfg, &weights, &dev).unwrap();
        let seq = [3u32, 4, 5, 6, 7, 8];
        let full_ids = Tensor::new(&seq, &dev).unwrap().unsqueeze(0).unwrap();
        let bias = attention_bias(&[vec![true; 6]], 0, 6, &dev).unwrap();
        let full = model.logits(&model.hidden(&full_ids, 0, &bias, None).unwrap()).unwrap();
        // Prefill 4 tokens, then one token at a time.
        let mut cache = KvCache::new();
        let pre = Tensor::new(&seq[..4], &dev).unwrap().unsqueeze(0).unwrap();
        let b = attention_bias(&[vec![true; 4]], 0, 4, &dev).unwrap();
        model.hidden(&pre, 0, &b, Some(&mut cache)).unwrap();
        for (pos, &tok) in seq.iter().enumerate().skip(4) {
            let ids = Tensor::new(&[[tok]], &dev).unwrap();
            let b = attention_bias(&[vec![true; pos + 1]], pos, 1, &dev).unwrap();
            let step = model.logits(&model.hidden(&ids, pos, &b, Some(&mut cache)).unwrap()).unwrap();
            let want = full.narrow(1, pos, 1).unwrap();
            let diff = (step - want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "position {pos}: cache differs by {diff}");
        }
        assert_eq!(cache.len(), 6);
        // The same sequence behind two pad tokens gives the same logits at its real positions.
        let padded = Tensor::new(&[0u32, 0, 3, 4, 5, 6, 7, 8], &dev).unwrap().unsqueeze(0).unwrap();
        let mut valid = vec![true; 8];
        valid[..2].fill(false);
        let b = attention_bias(&[valid], 0, 8, &dev).unwrap();
        let out = model.logits(&model.hidden(&padded, 0, &b, None).unwrap()).unwrap().narrow(1, 2, 6).unwrap();
        let diff = (out - full).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-4, "left padding changes logits by {diff}");
    }

    #[test]
    fn position_limit_boundary() {
        let cfg = small();
        let dev = Device::Cpu;
        let weights = init_weights(&cfg, &mut Rng::new(3), &dev).unwrap();
        let model = Model::new(&cfg, &weights, &dev).unwrap();
        let max = cfg.max_position_embeddings;
        let at = Tensor::zeros((1, max), DType::U32, &dev).unwrap();
        let b = attention_bias(&[vec![true; max]], 0, max, &dev).unwrap();
        assert!(model.hidden(&at, 0, &b, None).is_ok());
        let past = Tensor::zeros((1, max + 1), DType::U32, &dev).unwrap();
        let b = attention_bias(&[vec![true; max + 1]], 0, max + 1, &dev).unwrap();
        assert!(
            matches!(model.hidden(&past, 0, &b, None), Err(TrainError::TooLong { len, max: m }) if len == max + 1 && m == max)
        );
    }

    #[test]
    fn frozen_copy_does_not_follow_updates() {
        let cfg = small();
        let dev = Device::Cpu;
        let weights = init_weights(&cfg, &mut Rng::new(4), &dev).unwrap();
        let frozen = Model::frozen_copy(&cfg, &weights, &dev).unwrap();
        let before = frozen.embed.sum_all().unwrap().to_scalar::<f32>().unwrap();
        let var = &weights["model.embed_tokens.weight"];
        var.set(&(var.as_tensor() + 1.0).unwrap()).unwrap();
        let after = frozen.embed.sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(before, after);
    }
}
