//! Text ↔ token ids for the trainer: a symbol tokenizer for from-scratch models, or a real BPE
//! tokenizer (Hugging Face `tokenizers`) built from a GGUF file's metadata or a `tokenizer.json`.
//!
//! The symbol tokenizer matches the longest vocabulary entry at each position, so multi-character
//! markers such as `<think>` and `\boxed{` are one token each: the demo model's sequences are
//! half as long as with single characters, which halves CPU time per step.

use super::TrainError;

/// A tokenizer the trainer can use.
pub enum TextTokenizer {
    /// Greedy longest-match over a fixed list of strings (for tiny from-scratch models).
    Symbols(SymbolTokenizer),
    /// A Hugging Face tokenizer with its end-of-sequence id.
    Bpe {
        /// The tokenizer.
        tokenizer: Box<tokenizers::Tokenizer>,
        /// The end-of-sequence id.
        eos: u32,
    },
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextTokenizer::Symbols(s) => f.debug_tuple("Symbols").field(&s.symbols.len()).finish(),
            TextTokenizer::Bpe { eos, .. } => f.debug_struct("Bpe").field("eos", eos).finish(),
        }
    }
}

impl TextTokenizer {
    /// Token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TrainError> {
        match self {
            TextTokenizer::Symbols(s) => s.encode(text),
            TextTokenizer::Bpe { tokenizer, .. } => {
                Ok(tokenizer.encode(text, false).map_err(|e| TrainError::Tokenizer(e.to_string()))?.get_ids().to_vec())
            }
        }
    }

    /// The text of `ids`; special tokens (padding, end of sequence) are dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TrainError> {
        match self {
            TextTokenizer::Symbols(s) => s.decode(ids),
            TextTokenizer::Bpe { tokenizer, .. } => {
                tokenizer.decode(ids, true).map_err(|e| TrainError::Tokenizer(e.to_string()))
            }
        }
    }

    /// The end-of-sequence id.
    pub fn eos_id(&self) -> u32 {
        match self {
            TextTokenizer::Symbols(s) => s.eos_id(),
            TextTokenizer::Bpe { eos, .. } => *eos,
        }
    }

    /// The id used to pad batches (the end-of-sequence id for BPE models, which have no pad token).
    pub fn pad_id(&self) -> u32 {
        match self {
            TextTokenizer::Symbols(s) => s.pad_id(),
            TextTokenizer::Bpe { eos, .. } => *eos,
        }
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        match self {
            TextTokenizer::Symbols(s) => s.symbols.len(),
            TextTokenizer::Bpe { tokenizer, .. } => tokenizer.get_vocab_size(true),
        }
    }
}

/// Greedy longest-match tokenizer over a fixed symbol list; ids 0 and 1 are padding and end of sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolTokenizer {
    symbols: Vec<String>,
}

/// The padding symbol (id 0).
pub const PAD: &str = "<pad>";
/// The end-of-sequence symbol (id 1).
pub const EOS: &str = "<eos>";

impl SymbolTokenizer {
    /// A tokenizer over `<pad>`, `<eos>` and then `symbols` in order; duplicates are an error.
    pub fn new<S: AsRef<str>>(symbols: &[S]) -> Result<SymbolTokenizer, TrainError> {
        let mut all = vec![PAD.to_string(), EOS.to_string()];
        for s in symbols {
            let s = s.as_ref();
            if s.is_empty() || all.iter().any(|x| x == s) {
                return Err(TrainError::Tokenizer(format!("symbol `{s}` is empty or listed twice")));
            }
            all.push(s.to_string());
        }
        Ok(SymbolTokenizer { symbols: all })
    }

    /// The symbols, id order.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// The end-of-sequence id (1).
    pub fn eos_id(&self) -> u32 {
        1
    }

    /// The padding id (0).
    pub fn pad_id(&self) -> u32 {
        0
    }

    /// Token ids of `text`; a character no symbol covers is an error naming its byte offset.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TrainError> {
        let mut ids = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            let rest = &text[pos..];
            let best = self
                .symbols
                .iter()
                .enumerate()
                .skip(2)
                .filter(|(_, s)| rest.starts_with(s.as_str()))
                .max_by_key(|(_, s)| s.len());
            let Some((id, symbol)) = best else {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(TrainError::Tokenizer(format!("no symbol for {ch:?} at byte {pos}")));
            };
            ids.push(id as u32);
            pos += symbol.len();
        }
        Ok(ids)
    }

    /// The text of `ids`, skipping padding and end of sequence; an unknown id is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TrainError> {
        let mut text = String::new();
        for &id in ids {
            match id {
                0 | 1 => {}
                _ => text.push_str(
                    self.symbols.get(id as usize).ok_or_else(|| TrainError::Tokenizer(format!("unknown id {id}")))?,
                ),
            }
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_match_round_trips_and_rejects_unknown_text() {
        let tok = SymbolTokenizer::new(&["<", "<think>", "t", "1", "2"]).unwrap();
        let ids = tok.encode("<think>12<t").unwrap();
        assert_eq!(ids, vec![3, 5, 6, 2, 4]);
        assert_eq!(tok.decode(&[3, 5, 1, 0]).unwrap(), "<think>1");
        assert!(matches!(tok.encode("1x"), Err(TrainError::Tokenizer(m)) if m.contains("byte 1")));
        assert!(SymbolTokenizer::new(&["a", "a"]).is_err());
    }
}
