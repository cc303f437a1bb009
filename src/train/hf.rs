//! Pretrained models from disk: a Hugging Face model directory (`config.json`, `model.safetensors`
//! or a sharded `model.safetensors.index.json`, `tokenizer.json`, `tokenizer_config.json` with its
//! `chat_template`, `generation_config.json`) or a GGUF file, and checkpoints written back in the
//! same directory layout so `transformers` and vLLM load them unchanged.
//!
//! Nothing is downloaded. A missing or unsupported piece is a [`TrainError::Model`] naming the
//! file and the field. Supported decoders: `LlamaForCausalLM` (Llama, SmolLM) and
//! `Qwen2ForCausalLM` (biases on q/k/v). Weights become f32 trainable variables whatever their
//! stored dtype; a checkpoint stores f32 (`torch_dtype: float32`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};
use serde_json::{Value, json};

use super::TrainError;
use super::chat::ChatTemplate;
use super::gguf;
use super::model::{ModelConfig, Weights};
use super::tokenizer::TextTokenizer;

/// The model's `config.json`.
pub const CONFIG_FILE: &str = "config.json";
/// The tokenizer file.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The tokenizer's settings, with the chat template.
pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";
/// Generation defaults, with the EOS ids.
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";
/// Unsharded weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The index of sharded weights.
pub const WEIGHTS_INDEX_FILE: &str = "model.safetensors.index.json";

/// A loaded model: shape, trainable weights, tokenizer, chat template and stop tokens.
pub struct PretrainedModel {
    /// The decoder's shape.
    pub config: ModelConfig,
    /// Trainable f32 weights under Hugging Face names, in rotate-half RoPE layout.
    pub weights: Weights,
    /// The tokenizer.
    pub tokenizer: TextTokenizer,
    /// The chat template prompts are rendered with.
    pub chat: ChatTemplate,
    /// Token ids that end a completion (`generation_config.json`'s `eos_token_id`, one or a list).
    pub eos_ids: Vec<u32>,
    /// Files a checkpoint writes (config, tokenizer, generation config) as JSON text by name.
    pub files: BTreeMap<String, String>,
    /// Where it came from (for summaries).
    pub source: PathBuf,
}

impl std::fmt::Debug for PretrainedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PretrainedModel").field("config", &self.config).field("source", &self.source).finish()
    }
}

fn model_err(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Model { path: path.to_owned(), message: message.into() }
}

fn read_json(path: &Path) -> Result<Value, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| model_err(path, format!("not JSON: {e}")))
}

/// Loads `path`: a Hugging Face model directory or a `.gguf` file.
pub fn load(path: &Path, device: &Device) -> Result<PretrainedModel, TrainError> {
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        return load_gguf(path, device);
    }
    if !path.is_dir() {
        return Err(model_err(path, "not a model directory (with config.json) or a .gguf file"));
    }
    load_dir(path, device)
}

/// The decoder shape a `config.json` describes; unsupported architectures and options are errors
/// naming the field.
pub fn config_from_json(path: &Path, v: &Value) -> Result<ModelConfig, TrainError> {
    let field = |name: &str| v.get(name).filter(|x| !x.is_null());
    let usize_field = |name: &str| -> Result<usize, TrainError> {
        field(name)
            .and_then(Value::as_u64)
            .map(|x| x as usize)
            .ok_or_else(|| model_err(path, format!("field `{name}` is missing or not a non-negative integer")))
    };
    let model_type = field("model_type").and_then(Value::as_str).unwrap_or_default();
    let qkv_bias = match model_type {
        "llama" => {
            if field("attention_bias").and_then(Value::as_bool).unwrap_or(false) {
                return Err(model_err(path, "field `attention_bias: true` is not supported (Llama with biases)"));
            }
            if field("mlp_bias").and_then(Value::as_bool).unwrap_or(false) {
                return Err(model_err(path, "field `mlp_bias: true` is not supported"));
            }
            false
        }
        "qwen2" => true,
        other => {
            return Err(model_err(
                path,
                format!("field `model_type` is `{other}`: supported are `llama` (Llama, SmolLM) and `qwen2`"),
            ));
        }
    };
    if let Some(scaling) = field("rope_scaling") {
        return Err(model_err(path, format!("field `rope_scaling` ({scaling}) is not supported: only plain RoPE")));
    }
    if let Some(act) = field("hidden_act").and_then(Value::as_str)
        && act != "silu"
    {
        return Err(model_err(path, format!("field `hidden_act` is `{act}`: only `silu` is supported")));
    }
    let heads = usize_field("num_attention_heads")?;
    let hidden = usize_field("hidden_size")?;
    let config = ModelConfig {
        vocab_size: usize_field("vocab_size")?,
        hidden_size: hidden,
        intermediate_size: usize_field("intermediate_size")?,
        num_hidden_layers: usize_field("num_hidden_layers")?,
        num_attention_heads: heads,
        num_key_value_heads: field("num_key_value_heads").and_then(Value::as_u64).map_or(heads, |x| x as usize),
        rope_theta: field("rope_theta").and_then(Value::as_f64).unwrap_or(10_000.0),
        rms_norm_eps: field("rms_norm_eps").and_then(Value::as_f64).unwrap_or(1e-6),
        max_position_embeddings: usize_field("max_position_embeddings")?,
        tie_word_embeddings: field("tie_word_embeddings").and_then(Value::as_bool).unwrap_or(false),
        rope_interleaved: false,
        qkv_bias,
    };
    if let Some(hd) = field("head_dim").and_then(Value::as_u64)
        && hd as usize != config.head_dim()
    {
        return Err(model_err(
            path,
            format!("field `head_dim` {hd} differs from hidden_size / num_attention_heads {}", config.head_dim()),
        ));
    }
    config.validate().map_err(|e| model_err(path, e.to_string()))?;
    Ok(config)
}

/// Every weight file of a directory: `model.safetensors`, or the shards `model.safetensors.index.json` lists.
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let single = dir.join(WEIGHTS_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join(WEIGHTS_INDEX_FILE);
    if !index.is_file() {
        return Err(model_err(dir, format!("neither {WEIGHTS_FILE} nor {WEIGHTS_INDEX_FILE} is present")));
    }
    let v = read_json(&index)?;
    let map = v
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| model_err(&index, "field `weight_map` is missing or not an object"))?;
    let mut files: Vec<String> = map.values().filter_map(Value::as_str).map(str::to_string).collect();
    files.sort();
    files.dedup();
    Ok(files.into_iter().map(|f| dir.join(f)).collect())
}

/// Reads the weights `config` names from safetensors files as f32 trainable variables.
fn read_weights(files: &[PathBuf], config: &ModelConfig, device: &Device) -> Result<Weights, TrainError> {
    let mut all: HashMap<String, Tensor> = HashMap::new();
    for file in files {
        let tensors = candle_core::safetensors::load(file, device).map_err(|e| model_err(file, e.to_string()))?;
        all.extend(tensors);
    }
    let where_ = files.first().cloned().unwrap_or_default();
    let mut weights = Weights::new();
    for (name, shape) in config.parameter_shapes() {
        let t = all.remove(&name).ok_or_else(|| model_err(&where_, format!("tensor `{name}` is missing")))?;
        if t.dims() != shape.as_slice() {
            return Err(model_err(
                &where_,
                format!("tensor `{name}` has shape {:?}, config.json says {shape:?}", t.dims()),
            ));
        }
        weights.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
    }
    Ok(weights)
}

/// The EOS ids: `generation_config.json`'s `eos_token_id`, else `config.json`'s, else the
/// tokenizer config's `eos_token` looked up in the vocabulary.
fn eos_ids(
    dir: &Path,
    config: &Value,
    tok_config: &Value,
    tokenizer: &tokenizers::Tokenizer,
) -> Result<Vec<u32>, TrainError> {
    let ids = |v: &Value| -> Option<Vec<u32>> {
        match v.get("eos_token_id")? {
            Value::Number(n) => Some(vec![n.as_u64()? as u32]),
            Value::Array(a) => a.iter().map(|x| x.as_u64().map(|x| x as u32)).collect(),
            _ => None,
        }
    };
    let gen_path = dir.join(GENERATION_CONFIG_FILE);
    if gen_path.is_file()
        && let Some(found) = ids(&read_json(&gen_path)?)
    {
        return Ok(found);
    }
    if let Some(found) = ids(config) {
        return Ok(found);
    }
    if let Some(name) = special_token(tok_config, "eos_token")
        && let Some(id) = tokenizer.token_to_id(&name)
    {
        return Ok(vec![id]);
    }
    Err(model_err(
        dir,
        "no EOS id: none of generation_config.json `eos_token_id`, config.json `eos_token_id`, tokenizer_config.json `eos_token`",
    ))
}

/// A special token of `tokenizer_config.json` (`"eos_token": "<|im_end|>"` or `{"content": …}`).
pub fn special_token(tok_config: &Value, name: &str) -> Option<String> {
    match tok_config.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn load_dir(dir: &Path, device: &Device) -> Result<PretrainedModel, TrainError> {
    let config_path = dir.join(CONFIG_FILE);
    let raw_config = read_json(&config_path)?;
    let config = config_from_json(&config_path, &raw_config)?;
    let weights = read_weights(&weight_files(dir)?, &config, device)?;
    let tok_path = dir.join(TOKENIZER_FILE);
    if !tok_path.is_file() {
        return Err(model_err(&tok_path, "missing (rlvr reads the fast tokenizer's tokenizer.json)"));
    }
    let tokenizer = tokenizers::Tokenizer::from_file(&tok_path).map_err(|e| model_err(&tok_path, e.to_string()))?;
    let tok_config_path = dir.join(TOKENIZER_CONFIG_FILE);
    let tok_config = read_json(&tok_config_path)?;
    let chat = ChatTemplate::from_tokenizer_config(&tok_config_path, &tok_config)?;
    let eos_ids = eos_ids(dir, &raw_config, &tok_config, &tokenizer)?;
    let mut files = BTreeMap::new();
    for name in [CONFIG_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, GENERATION_CONFIG_FILE, "special_tokens_map.json"]
    {
        let path = dir.join(name);
        if path.is_file() {
            files.insert(name.to_string(), std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?);
        }
    }
    let mut cfg_json = raw_config;
    cfg_json["torch_dtype"] = json!("float32");
    files.insert(CONFIG_FILE.into(), serde_json::to_string_pretty(&cfg_json).unwrap_or_default());
    Ok(PretrainedModel {
        config,
        weights,
        tokenizer: TextTokenizer::Bpe { tokenizer: Box::new(tokenizer), eos: eos_ids[0] },
        chat,
        eos_ids,
        files,
        source: dir.to_owned(),
    })
}

fn load_gguf(path: &Path, device: &Device) -> Result<PretrainedModel, TrainError> {
    let (mut config, mut weights, content) = gguf::load_weights(path, device)?;
    gguf::to_hf_layout(&mut config, &mut weights)?;
    let tokenizer = gguf::load_tokenizer(&content)?;
    let TextTokenizer::Bpe { tokenizer: bpe, eos } = &tokenizer else {
        return Err(model_err(path, "GGUF tokenizer is not a BPE tokenizer"));
    };
    let template = content
        .metadata
        .get("tokenizer.chat_template")
        .and_then(|v| v.to_string().ok().cloned())
        .ok_or_else(|| model_err(path, "GGUF metadata lacks `tokenizer.chat_template`"))?;
    let token = |key: &str| -> Option<String> {
        let id = content.metadata.get(key)?.to_u32().ok()?;
        bpe.id_to_token(id)
    };
    let (bos, eos_token) = (token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id"));
    let chat = ChatTemplate::new(template.clone(), bos.clone(), eos_token.clone())?;
    let eos_ids = vec![*eos];
    let tokenizer_json = bpe.to_string(false).map_err(|e| model_err(path, format!("tokenizer to JSON: {e}")))?;
    let hf_config = json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "rope_theta": config.rope_theta,
        "rms_norm_eps": config.rms_norm_eps,
        "max_position_embeddings": config.max_position_embeddings,
        "tie_word_embeddings": config.tie_word_embeddings,
        "hidden_act": "silu",
        "attention_bias": false,
        "mlp_bias": false,
        "bos_token_id": content.metadata.get("tokenizer.ggml.bos_token_id").and_then(|v| v.to_u32().ok()),
        "eos_token_id": eos,
        "torch_dtype": "float32",
    });
    let tok_config = json!({
        "chat_template": template,
        "bos_token": bos,
        "eos_token": eos_token,
        "pad_token": eos_token,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": false,
        "model_max_length": config.max_position_embeddings,
    });
    let gen_config = json!({ "eos_token_id": eos, "bos_token_id": hf_config["bos_token_id"] });
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let files = BTreeMap::from([
        (CONFIG_FILE.to_string(), pretty(&hf_config)),
        (TOKENIZER_FILE.to_string(), tokenizer_json),
        (TOKENIZER_CONFIG_FILE.to_string(), pretty(&tok_config)),
        (GENERATION_CONFIG_FILE.to_string(), pretty(&gen_config)),
    ]);
    Ok(PretrainedModel { config, weights, tokenizer, chat, eos_ids, files, source: path.to_owned() })
}

/// Writes `weights` as a Hugging Face model directory: `model.safetensors` (f32) beside the
/// model's config and tokenizer files.
pub fn save_model_dir(dir: &Path, weights: &Weights, files: &BTreeMap<String, String>) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let tensors: HashMap<String, Tensor> = weights.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    let path = dir.join(WEIGHTS_FILE);
    // transformers' loader wants `format: pt` in the metadata; candle's writer adds none, so the
    // file is written through the safetensors crate with it.
    write_safetensors(&path, &tensors)?;
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| TrainError::io(&p, e))?;
    }
    Ok(())
}

/// Writes f32 tensors with `{"format": "pt"}` metadata, as `transformers` saves them.
fn write_safetensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<(), TrainError> {
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        data.push((name.clone(), t.dims().to_vec(), bytes));
    }
    data.sort_by(|a, b| a.0.cmp(&b.0));
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
        .iter()
        .map(|(n, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| model_err(path, e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    safetensors::serialize_to_file(views, metadata, path).map_err(|e| model_err(path, e.to_string()))
}
