//! `rlvr train --model DIR --dataset FILE` end to end on CPU: a tiny model written here in Hugging
//! Face layout (random safetensors weights, the byte-level `tokenizer.json` and chat template of
//! `testdata/train/tiny_hf/`) trains two GRPO steps on a four-prompt dataset through the same
//! code path the command runs, saves checkpoints, reloads them, and resumes exactly; the dataset
//! readers skip malformed rows with their line numbers; every trainable tensor of a loaded Llama
//! and Qwen2 gets a non-zero gradient; a missing or unsupported model piece names file and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::{D, Device, Tensor};
use rlvr::batch::{Engine, EngineConfig};
use rlvr::io::{FieldMap, FieldRule};
use rlvr::reward::RecipeBook;
use rlvr::train::TrainError;
use rlvr::train::chat::Message;
use rlvr::train::hf::{self, PretrainedModel};
use rlvr::train::metrics::MetricsLog;
use rlvr::train::model::{Model, attention_bias, init_weights};
use rlvr::train::reward::{EngineRewards, RewardItem, RewardSource};
use rlvr::train::rng::Rng;
use rlvr::train::run::{self, RunInputs, RunOptions};
use rlvr::train::task::dataset::{self, PromptFormat};

fn testdata(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/train").join(path)
}

/// Writes a tiny model directory: `config` (a file of testdata/train/tiny_hf) as config.json,
/// the tokenizer files, and random weights.
fn tiny_model(dir: &Path, config: &str, seed: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for f in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
        std::fs::copy(testdata("tiny_hf").join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(testdata("tiny_hf").join(config), dir.join("config.json")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let cfg = hf::config_from_json(&dir.join("config.json"), &json).unwrap();
    let weights = init_weights(&cfg, &mut Rng::new(seed), &Device::Cpu).unwrap();
    hf::save_model_dir(dir, &weights, &BTreeMap::new()).unwrap();
    dir.to_owned()
}

fn rewards() -> EngineRewards {
    let mut book = RecipeBook::builtin().unwrap();
    book.load_dir(&testdata("recipes")).unwrap();
    EngineRewards::new(Engine::with_recipes(EngineConfig::default(), book), "tiny-length").unwrap()
}

fn format<'a>(
    model: &'a PretrainedModel,
    system_prompt: Option<&'a str>,
    max_prompt_length: usize,
) -> PromptFormat<'a> {
    PromptFormat { chat: &model.chat, tokenizer: &model.tokenizer, system_prompt, max_prompt_length }
}

fn options() -> RunOptions {
    let mut o = RunOptions {
        max_steps: 2,
        save_steps: 1,
        eval_batch_size: 4,
        max_prompt_length: 110,
        seed: 7,
        ..RunOptions::default()
    };
    o.grpo.num_generations = 4;
    o.grpo.prompts_per_step = 2;
    o.grpo.micro_batch_size = 4;
    o.grpo.max_completion_length = 8;
    o.grpo.loss.max_completion_length = 8;
    o.grpo.optimizer.learning_rate = 1e-2;
    o
}

fn untimed(path: &Path) -> Vec<rlvr::train::metrics::StepMetrics> {
    let mut lines = MetricsLog::read(path).unwrap();
    for m in &mut lines {
        m.seconds = Default::default();
        m.scoring_share = 0.0;
    }
    lines
}

fn logits(model: &PretrainedModel, dir_weights: &rlvr::train::model::Weights) -> Vec<f32> {
    let dev = Device::Cpu;
    let m = Model::new(&model.config, dir_weights, &dev).unwrap();
    let ids = Tensor::new(&[[3u32, 40, 41, 42, 7]], &dev).unwrap();
    let bias = attention_bias(&[vec![true; 5]], 0, 5, &dev).unwrap();
    m.logits(&m.hidden(&ids, 0, &bias, None).unwrap()).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn a_tiny_hf_model_trains_two_steps_saves_reloads_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let model_dir = tiny_model(&tmp.path().join("model"), "config.json", 1);
    let dev = Device::Cpu;
    let rewards = rewards();
    let start = hf::load(&model_dir, &dev).unwrap();
    let data = dataset::read(
        &testdata("datasets/four_prompts.jsonl"),
        &FieldMap::from_rules(vec![]),
        &format(&start, None, 110),
    )
    .unwrap();
    assert_eq!((data.prompts.len(), data.skipped.len()), (4, 0), "{:?}", data.skipped);
    let not_stopped = AtomicBool::new(false);
    let inputs = |model: PretrainedModel, stop: &'static AtomicBool| RunInputs {
        model,
        train: &data.prompts,
        eval: &data.prompts,
        skipped: (0, 0),
        rewards: &rewards,
        recipe: "tiny-length",
        device: ("cpu", &dev),
        task: "dataset:four_prompts.jsonl".into(),
        stop,
    };
    let leak = |b: bool| -> &'static AtomicBool { Box::leak(Box::new(AtomicBool::new(b))) };
    let _ = &not_stopped;

    // The uninterrupted run.
    let full = tmp.path().join("full");
    let summary = run::run(&options(), inputs(hf::load(&model_dir, &dev).unwrap(), leak(false)), &full).unwrap();
    assert_eq!(summary.steps, 2);
    assert!(!summary.interrupted);
    assert!(summary.before.is_some() && summary.after.is_some() && summary.control_after.is_none());
    assert_eq!(summary.held_out, 4);
    assert!(summary.generated_tokens > 0 && summary.generated_tokens_per_second > 0.0);
    let lines = untimed(&full.join("metrics.jsonl"));
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().any(|m| m.grad_norm > 0.0), "rewards differ within groups, so a step has a gradient");
    assert!(lines.iter().all(|m| m.tokens_generated > 0 && m.rewards.contains_key("overlong")));
    for step in [1, 2] {
        let ckpt = full.join(format!("checkpoint-{step}"));
        for f in
            ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]
        {
            assert!(ckpt.join(f).is_file(), "{} lacks {f}", ckpt.display());
        }
    }
    // A checkpoint is a model directory: it loads as one, and its weights moved from the start.
    let trained = hf::load(&full.join("checkpoint-2"), &dev).unwrap();
    assert_eq!(trained.config, start.config);
    assert_ne!(logits(&trained, &trained.weights), logits(&start, &start.weights), "training changed the weights");

    // Stopped by a signal after the first step, then resumed: the same steps and weights.
    let split = tmp.path().join("split");
    let first = run::run(&options(), inputs(hf::load(&model_dir, &dev).unwrap(), leak(true)), &split).unwrap();
    assert!(first.interrupted && first.steps == 1 && first.after.is_none());
    let ckpt = split.join("checkpoint-1");
    let resumed = run::resume(&ckpt, inputs(hf::load(&ckpt, &dev).unwrap(), leak(false)), &split).unwrap();
    assert_eq!(resumed.steps, 2);
    assert_eq!(untimed(&split.join("metrics.jsonl")), lines, "the resumed run takes the uninterrupted run's steps");
    let again = hf::load(&split.join("checkpoint-2"), &dev).unwrap();
    assert_eq!(logits(&again, &again.weights), logits(&trained, &trained.weights));
    assert_eq!(resumed.after, summary.after);

    // A wall-clock budget one step exhausts: the run stops after that step, still evaluates and
    // saves, and is not an interruption. A budget of 0 is no limit (the full run above); a
    // negative one is refused.
    let timed = tmp.path().join("timed");
    let budget = RunOptions { max_train_seconds: 1e-9, ..options() };
    let short = run::run(&budget, inputs(hf::load(&model_dir, &dev).unwrap(), leak(false)), &timed).unwrap();
    assert!(short.steps == 1 && !short.interrupted && short.after.is_some(), "{short:?}");
    assert_eq!(short.checkpoint, Some(timed.join("checkpoint-1")));
    let negative = RunOptions { max_train_seconds: -1.0, ..options() };
    let refused =
        run::run(&negative, inputs(hf::load(&model_dir, &dev).unwrap(), leak(false)), &tmp.path().join("neg"));
    assert!(matches!(refused, Err(TrainError::Config(m)) if m.contains("max_train_seconds")));

    // Resuming on other data is refused.
    let other = &data.prompts[..3];
    let bad = RunInputs { train: other, ..inputs(hf::load(&ckpt, &dev).unwrap(), leak(false)) };
    assert!(matches!(run::resume(&ckpt, bad, &tmp.path().join("bad")), Err(TrainError::Checkpoint { .. })));
}

#[test]
fn dataset_rows_string_and_chat_prompts_verl_layout_and_malformed_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let model = hf::load(&tiny_model(&tmp.path().join("m"), "config.json", 2), &Device::Cpu).unwrap();
    let verl = FieldMap::from_rules(vec![]);
    let four = dataset::read(&testdata("datasets/four_prompts.jsonl"), &verl, &format(&model, None, 1000)).unwrap();
    let render = |msgs: &[Message]| model.chat.render(msgs, true).unwrap();
    // A string prompt is one user message; the template adds SmolLM's default system turn.
    assert_eq!(four.prompts[0].text, render(&[Message::new("user", "What is 2+3?")]));
    assert!(four.prompts[0].text.ends_with("<|im_start|>assistant\n"), "generation prompt added");
    assert_eq!(four.prompts[0].ids, model.tokenizer.encode(&four.prompts[0].text).unwrap());
    // verl: chat messages and reward_model.ground_truth; a numeric answer becomes its text.
    assert_eq!(four.prompts[1].answer, "8");
    assert_eq!(four.prompts[2].answer, "5");
    assert_eq!(
        four.prompts[2].text,
        render(&[Message::new("system", "Answer briefly."), Message::new("user", "What is 7-2?")])
    );
    // --system-prompt goes first where a row has no system message, and only there.
    let with_system =
        dataset::read(&testdata("datasets/four_prompts.jsonl"), &verl, &format(&model, Some("Be exact."), 1000))
            .unwrap();
    assert!(with_system.prompts[0].text.starts_with("<|im_start|>system\nBe exact.<|im_end|>\n"));
    assert_eq!(with_system.prompts[2].text, four.prompts[2].text);

    let bad = dataset::read(&testdata("datasets/malformed.jsonl"), &verl, &format(&model, None, 1000)).unwrap();
    assert_eq!(bad.prompts.len(), 2);
    assert_eq!(bad.prompts[1].answer, "10");
    let lines: Vec<usize> = bad.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8, 10], "blank line 9 is not a row");
    let reason = |line: usize| bad.skipped.iter().find(|s| s.line == line).unwrap().reason.clone();
    assert!(reason(2).contains("invalid JSON"), "{}", reason(2));
    assert!(reason(3).contains("no gold answer"));
    assert!(reason(4).contains("no `prompt`"));
    assert!(reason(5).contains("message 0"));
    assert!(reason(6).contains("empty list"));
    assert!(reason(7).contains("neither a string nor a list"));
    assert!(reason(8).contains("`answer` is neither"));
    assert!(reason(10).contains("not a JSON object"));

    // GSM8K's layout needs --map prompt=question; without it every row is skipped with the hint.
    let gsm = testdata("datasets/gsm8k_layout.jsonl");
    let unmapped = dataset::read(&gsm, &verl, &format(&model, None, 1000)).unwrap();
    assert!(unmapped.prompts.is_empty() && unmapped.skipped.iter().all(|s| s.reason.contains("prompt=question")));
    let map = FieldMap::from_rules(vec!["prompt=question".parse::<FieldRule>().unwrap()]);
    let mapped = dataset::read(&gsm, &map, &format(&model, None, 1000)).unwrap();
    assert_eq!(mapped.prompts.iter().map(|p| p.answer.as_str()).collect::<Vec<_>>(), ["18", "3"]);

    // max_prompt_length: a prompt of exactly the limit is kept, one token over is skipped.
    let n = four.prompts[0].ids.len();
    let at = dataset::read(&testdata("datasets/four_prompts.jsonl"), &verl, &format(&model, None, n)).unwrap();
    assert_eq!(at.prompts[0].ids.len(), n);
    let under = dataset::read(&testdata("datasets/four_prompts.jsonl"), &verl, &format(&model, None, n - 1)).unwrap();
    assert!(under.skipped.iter().any(|s| s.line == 1 && s.reason.contains(&format!("{n} tokens"))));

    #[cfg(not(feature = "parquet"))]
    assert!(matches!(
        dataset::read(Path::new("x.parquet"), &verl, &format(&model, None, 10)),
        Err(TrainError::Data { .. })
    ));
}

#[test]
fn rlvr_dataset_arithmetic_rows_are_read_by_the_trainer_and_scored_by_the_gsm8k_recipe() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("arith");
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_rlvr"))
        .args(["dataset", "arithmetic", "--level", "4", "--train", "20", "--test", "5", "--seed", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let too_many = std::process::Command::new(env!("CARGO_BIN_EXE_rlvr"))
        .args(["dataset", "arithmetic", "--level", "4", "--train", "700", "--test", "21", "--out"])
        .arg(tmp.path().join("no"))
        .output()
        .unwrap();
    assert!(!too_many.status.success() && String::from_utf8_lossy(&too_many.stderr).contains("720 distinct"));
    let model = hf::load(&tiny_model(&tmp.path().join("m"), "config.json", 2), &Device::Cpu).unwrap();
    let map = FieldMap::from_rules(vec!["prompt=question".parse::<FieldRule>().unwrap()]);
    let train = dataset::read(&out.join("train.jsonl"), &map, &format(&model, None, 1000)).unwrap();
    let test = dataset::read(&out.join("test.jsonl"), &map, &format(&model, None, 1000)).unwrap();
    assert_eq!((train.prompts.len(), test.prompts.len(), train.skipped.len()), (20, 5, 0));
    assert!(test.prompts.iter().all(|t| train.prompts.iter().all(|p| p.text != t.text)), "held out means unseen");
    let engine =
        EngineRewards::new(Engine::with_recipes(EngineConfig::default(), RecipeBook::builtin().unwrap()), "gsm8k")
            .unwrap();
    let right: Vec<String> = test.prompts.iter().map(|p| format!("Multiplying: #### {}", p.answer)).collect();
    let wrong: Vec<String> = test.prompts.iter().map(|p| format!("#### {}1", p.answer)).collect();
    for (completions, expect) in [(&right, true), (&wrong, false)] {
        let items: Vec<RewardItem<'_>> = test
            .prompts
            .iter()
            .zip(completions)
            .map(|(p, c)| RewardItem { prompt: &p.text, completion: c, answer: &p.answer })
            .collect();
        assert!(engine.score(&items).iter().all(|s| s.correct == expect && !s.error));
    }
}

#[test]
fn every_trainable_tensor_of_a_loaded_llama_and_qwen2_gets_a_gradient() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    for (config, biases) in [("config.json", 0), ("config.qwen2.json", 6)] {
        let model = hf::load(&tiny_model(&tmp.path().join(config), config, 3), &dev).unwrap();
        assert_eq!(model.weights.keys().filter(|k| k.ends_with(".bias")).count(), biases, "{config}");
        assert_eq!(model.eos_ids, vec![2, 0], "generation_config.json's list");
        let m = Model::new(&model.config, &model.weights, &dev).unwrap();
        let ids = Tensor::new(&[[3u32, 40, 41, 42, 7, 9], [5, 6, 7, 8, 9, 10]], &dev).unwrap();
        let bias = attention_bias(&[vec![true; 6], vec![false, true, true, true, true, true]], 0, 6, &dev).unwrap();
        let logp = candle_nn::ops::log_softmax(&m.logits(&m.hidden(&ids, 0, &bias, None).unwrap()).unwrap(), D::Minus1)
            .unwrap();
        let targets = Tensor::new(&[[40u32, 41, 42, 7, 9, 11], [6, 7, 8, 9, 10, 12]], &dev).unwrap();
        let loss = logp.gather(&targets.unsqueeze(2).unwrap(), 2).unwrap().mean_all().unwrap().neg().unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in &model.weights {
            let g = grads.get(var).unwrap_or_else(|| panic!("{config}: {name} got no gradient"));
            let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0 && norm.is_finite(), "{config}: {name} gradient norm {norm}");
        }
    }
}

#[test]
fn a_missing_or_unsupported_model_piece_names_the_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let dir = tiny_model(&tmp.path().join("m"), "config.json", 4);
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(dir.join("config.json"), v.to_string()).unwrap();
    };
    let err = |expect: &str| {
        let e = hf::load(&dir, &dev).unwrap_err().to_string();
        assert!(e.contains(expect), "{e:?} lacks {expect:?}");
    };
    let original = std::fs::read_to_string(dir.join("config.json")).unwrap();
    edit(&|v| v["model_type"] = "gpt2".into());
    err("`model_type` is `gpt2`");
    std::fs::write(dir.join("config.json"), &original).unwrap();
    edit(&|v| v["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 8.0}));
    err("`rope_scaling`");
    std::fs::write(dir.join("config.json"), &original).unwrap();
    edit(&|v| {
        v.as_object_mut().unwrap().remove("hidden_size");
    });
    err("`hidden_size` is missing");
    std::fs::write(dir.join("config.json"), &original).unwrap();
    let tc = std::fs::read_to_string(dir.join("tokenizer_config.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&tc).unwrap();
    v.as_object_mut().unwrap().remove("chat_template");
    std::fs::write(dir.join("tokenizer_config.json"), v.to_string()).unwrap();
    err("`chat_template` is missing");
    std::fs::write(dir.join("tokenizer_config.json"), tc).unwrap();
    std::fs::rename(dir.join("tokenizer.json"), dir.join("moved")).unwrap();
    err("tokenizer.json");
    std::fs::rename(dir.join("moved"), dir.join("tokenizer.json")).unwrap();
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    err("model.safetensors.index.json");
    assert!(hf::load(&dir.join("nothing-here"), &dev).is_err());
}

#[test]
fn sharded_weights_load_like_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let dir = tiny_model(&tmp.path().join("m"), "config.qwen2.json", 5);
    let whole = hf::load(&dir, &dev).unwrap();
    let tensors = candle_core::safetensors::load(dir.join("model.safetensors"), &dev).unwrap();
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let (a, b) = names.split_at(names.len() / 2);
    let mut map = serde_json::Map::new();
    for (file, part) in [("model-00001-of-00002.safetensors", a), ("model-00002-of-00002.safetensors", b)] {
        let shard: std::collections::HashMap<String, Tensor> =
            part.iter().map(|n| ((*n).clone(), tensors[*n].clone())).collect();
        candle_core::safetensors::save(&shard, dir.join(file)).unwrap();
        for n in part.iter() {
            map.insert((*n).clone(), file.into());
        }
    }
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    let sharded = hf::load(&dir, &dev).unwrap();
    assert_eq!(logits(&sharded, &sharded.weights), logits(&whole, &whole.weights));
    std::fs::remove_file(dir.join("model-00002-of-00002.safetensors")).unwrap();
    let e = hf::load(&dir, &dev).unwrap_err().to_string();
    assert!(e.contains("model-00002-of-00002.safetensors"), "{e}");
}
