//! Chat templates: a model's Jinja `chat_template` rendered as `transformers`'
//! `apply_chat_template(messages, tokenize=False, add_generation_prompt=True)` renders it.
//!
//! The engine is `minijinja` set up as transformers sets up Jinja2: `trim_blocks` and
//! `lstrip_blocks` on, loop controls (`{% break %}`), Python's string and dict methods
//! (`.strip()`, `.startswith()`, `.items()`, … through `minijinja-contrib`'s pycompat),
//! `raise_exception(msg)`, `strftime_now(fmt)` and a `tojson` that writes what Python's
//! `json.dumps(x, ensure_ascii=False)` writes. The special tokens of `tokenizer_config.json`
//! (`bos_token`, `eos_token`, `pad_token`, `unk_token`) are template variables, as in transformers.
//! `testdata/train/chat_templates/` holds prompts rendered by transformers itself, and a test
//! checks that this module renders the same strings.

use std::path::Path;

use minijinja::value::{Kwargs, Value as JinjaValue};
use minijinja::{Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::TrainError;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message with `role` and `content`.
    pub fn new(role: &str, content: &str) -> Message {
        Message { role: role.to_string(), content: content.to_string() }
    }
}

/// A compiled chat template with the special tokens it may refer to.
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    special: Vec<(String, String)>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").field("special", &self.special).finish_non_exhaustive()
    }
}

const NAME: &str = "chat_template";

/// Python's `json.dumps(value, ensure_ascii=False, indent=indent)`.
fn python_json(value: &Value, indent: Option<usize>, depth: usize, out: &mut String) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                python_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(": ");
                python_json(v, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            // Python writes `1.0`, never `1`.
            if f.fract() == 0.0 && f.abs() < 1e16 {
                out.push_str(&format!("{f:.1}"))
            } else {
                out.push_str(&f.to_string())
            }
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

fn tojson(value: JinjaValue, kwargs: Kwargs) -> Result<JinjaValue, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let mut out = String::new();
    python_json(&json, indent, 0, &mut out);
    Ok(JinjaValue::from_safe_string(out))
}

fn strftime_now(format: String) -> Result<String, Error> {
    let c_format =
        std::ffi::CString::new(format).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let mut buf = vec![0u8; 256];
    // SAFETY: `time` and `localtime_r` write only into the locals given; `strftime` writes at most
    // `buf.len()` bytes into `buf` and returns how many it wrote.
    let written = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c_format.as_ptr(), &tm)
    };
    buf.truncate(written);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

impl ChatTemplate {
    /// Compiles `source` with the given `bos_token` and `eos_token`.
    pub fn new(source: String, bos: Option<String>, eos: Option<String>) -> Result<ChatTemplate, TrainError> {
        let mut special = Vec::new();
        for (k, v) in [("bos_token", bos), ("eos_token", eos)] {
            if let Some(v) = v {
                special.push((k.to_string(), v));
            }
        }
        ChatTemplate::with_special(source, special)
    }

    fn with_special(source: String, special: Vec<(String, String)>) -> Result<ChatTemplate, TrainError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, source.clone())
            .map_err(|e| TrainError::Config(format!("chat template does not compile: {e:#}")))?;
        Ok(ChatTemplate { env, source, special })
    }

    /// The template of a `tokenizer_config.json` (`chat_template` as a string, or the entry named
    /// `default` of a list of `{name, template}`), with its special tokens.
    pub fn from_tokenizer_config(path: &Path, config: &Value) -> Result<ChatTemplate, TrainError> {
        let missing = |m: &str| TrainError::Model { path: path.to_owned(), message: m.to_string() };
        let source = match config.get("chat_template") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
                .and_then(|t| t.get("template")?.as_str())
                .ok_or_else(|| missing("field `chat_template` is a list without a `default` entry"))?
                .to_string(),
            _ => {
                // Newer transformers save it beside the config as chat_template.jinja.
                let jinja = path.with_file_name("chat_template.jinja");
                std::fs::read_to_string(&jinja).map_err(|_| {
                    missing("field `chat_template` is missing (and there is no chat_template.jinja): rlvr renders prompts with the model's own template")
                })?
            }
        };
        let mut special = Vec::new();
        for name in ["bos_token", "eos_token", "pad_token", "unk_token"] {
            if let Some(v) = super::hf::special_token(config, name) {
                special.push((name.to_string(), v));
            }
        }
        ChatTemplate::with_special(source, special)
    }

    /// The template's source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The prompt text of `messages`, ending with the assistant's turn opener when
    /// `add_generation_prompt` (transformers' `apply_chat_template(…, tokenize=False)`).
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, TrainError> {
        let template = self.env.get_template(NAME).map_err(|e| TrainError::Config(e.to_string()))?;
        let mut ctx = serde_json::Map::new();
        for (k, v) in &self.special {
            ctx.insert(k.clone(), Value::String(v.clone()));
        }
        ctx.insert("messages".into(), serde_json::to_value(messages).unwrap_or_default());
        ctx.insert("add_generation_prompt".into(), Value::Bool(add_generation_prompt));
        template
            .render(JinjaValue::from_serialize(&ctx))
            .map_err(|e| TrainError::Config(format!("chat template failed to render: {e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tojson_writes_what_python_json_dumps_writes() {
        let v: Value = serde_json::from_str(r#"{"a": [1, 2.0, "é<"], "b": {}, "c": null}"#).unwrap();
        let mut out = String::new();
        python_json(&v, None, 0, &mut out);
        assert_eq!(out, r#"{"a": [1, 2.0, "é<"], "b": {}, "c": null}"#);
        let mut out = String::new();
        python_json(&serde_json::json!({"k": [1]}), Some(2), 0, &mut out);
        assert_eq!(out, "{\n  \"k\": [\n    1\n  ]\n}");
    }

    #[test]
    fn raise_exception_is_a_render_error_and_a_bad_template_a_config_error() {
        let t = ChatTemplate::new("{{ raise_exception('no system role') }}".into(), None, None).unwrap();
        assert!(matches!(t.render(&[], true), Err(TrainError::Config(m)) if m.contains("no system role")));
        assert!(matches!(ChatTemplate::new("{% for %}".into(), None, None), Err(TrainError::Config(_))));
    }

    /// Every template × case × `add_generation_prompt` in `testdata/train/chat_templates/`
    /// renders exactly the string transformers' `apply_chat_template` rendered (`generate.py`).
    #[test]
    fn renders_what_transformers_renders() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/train/chat_templates");
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
        let expected = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
        let mut checked = 0;
        for line in expected.lines() {
            let want: Value = serde_json::from_str(line).unwrap();
            let name = want["template"].as_str().unwrap();
            let source = std::fs::read_to_string(dir.join(name)).unwrap();
            let chat = ChatTemplate::with_special(
                source,
                [
                    ("bos_token", "<|im_start|>"),
                    ("eos_token", "<|im_end|>"),
                    ("pad_token", "<|im_end|>"),
                    ("unk_token", "<|endoftext|>"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            )
            .unwrap();
            let case = cases.iter().find(|c| c["name"] == want["case"]).unwrap();
            let messages: Vec<Message> = serde_json::from_value(case["messages"].clone()).unwrap();
            let got = chat.render(&messages, want["add_generation_prompt"].as_bool().unwrap()).unwrap();
            assert_eq!(got, want["expected"].as_str().unwrap(), "{name} / {}", want["case"]);
            checked += 1;
        }
        assert_eq!(checked, 30, "3 templates × 5 cases × 2");
    }
}
