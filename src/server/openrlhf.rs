//! Finding the response inside an OpenRLHF `query`.
//!
//! OpenRLHF's `/get_reward` client (`openrlhf/utils/agent.py`, `SingleTurnAgentExecutor`) sends
//! `query = tokenizer.decode(prompt_token_ids + action_token_ids, skip_special_tokens=False)` and
//! the original `prompt` text. The query need not begin with the prompt: long prompts are
//! left-truncated to `max_length - max_tokens` tokens, and decoding does not always give back the
//! text that was encoded (spaces around special tokens, SentencePiece's `▁`, a byte token cut in
//! half at the truncation point shows as U+FFFD). Scoring the whole query then scores the prompt:
//! a few-shot prompt with `\boxed{3}` in it plus the response "I give up." would earn the reward.
//!
//! So the response is found from the prompt's *tail*, on a skeleton of both texts that drops
//! whitespace, `▁`, U+FFFD and special-token markup (`<|…|>`, `<s>`, `</s>`):
//! 1. the query begins with the prompt exactly: the response is the rest;
//! 2. else the longest start of the query skeleton that is an end of the prompt skeleton (a
//!    truncated or re-spaced prompt), if at least [`MIN_ANCHOR_CHARS`] long (or the whole prompt);
//! 3. else the prompt skeleton's last [`MIN_ANCHOR_CHARS`]… characters occurring exactly once in the
//!    query (something was put before the prompt);
//! 4. else [`ResponseNotFound`]: the sample is an error, never a score of text the model did not write.

/// Skeleton characters of the prompt's end that must match before text is taken as the response.
pub const MIN_ANCHOR_CHARS: usize = 32;

/// The response could not be told apart from the prompt in a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the response could not be found in `query`: it neither begins with the prompt nor contains the prompt's \
     last {anchor} characters (whitespace and special tokens ignored) exactly once; \
     the sample is not scored, so that text the model did not write cannot earn a reward"
)]
pub struct ResponseNotFound {
    /// The anchor length that was looked for.
    pub anchor: usize,
}

/// The most characters one special-token marker (`<|im_start|>`) may have.
const MAX_SPECIAL_CHARS: usize = 64;

/// Significant characters of `text`, each with the byte offset just past it.
fn skeleton(text: &str) -> Vec<(char, usize)> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(len) = special_token_len(rest) {
            i += len;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        i += c.len_utf8();
        if c.is_whitespace() || c == '\u{2581}' || c == '\u{FFFD}' || c == '\u{0120}' || c == '\u{010A}' {
            continue;
        }
        out.push((c, i));
    }
    out
}

/// Length in bytes of a special-token marker at the start of `text`, if one is there.
fn special_token_len(text: &str) -> Option<usize> {
    for plain in ["<s>", "</s>", "<pad>", "<unk>"] {
        if text.starts_with(plain) {
            return Some(plain.len());
        }
    }
    let body = text.strip_prefix("<|")?;
    let end = body.char_indices().take(MAX_SPECIAL_CHARS).find(|&(_, c)| c == '|' || c == '>' || c.is_whitespace());
    match end {
        Some((at, '|')) if body[at..].starts_with("|>") => Some(2 + at + 2),
        _ => None,
    }
}

/// The response inside `query`, given the `prompt` it was generated from (see the module docs).
pub fn find_response<'q>(query: &'q str, prompt: &str) -> Result<&'q str, ResponseNotFound> {
    if let Some(rest) = query.strip_prefix(prompt) {
        return Ok(rest);
    }
    let p: Vec<char> = skeleton(prompt).into_iter().map(|(c, _)| c).collect();
    if p.is_empty() {
        // Nothing significant in the prompt (empty, or only whitespace and markers).
        return Ok(query.trim_start());
    }
    let q = skeleton(query);
    let needed = p.len().min(MIN_ANCHOR_CHARS);
    let border = longest_prefix_that_ends(&q, &p);
    if border >= needed {
        return Ok(&query[q[border - 1].1..]);
    }
    // The prompt's tail somewhere inside the query, exactly once.
    let anchor = &p[p.len() - needed..];
    let mut found = None;
    let mut count = 0;
    for start in 0..q.len().saturating_sub(needed - 1) {
        if q[start..start + needed].iter().map(|&(c, _)| c).eq(anchor.iter().copied()) {
            count += 1;
            found = Some(start + needed - 1);
        }
    }
    match (count, found) {
        (1, Some(last)) => Ok(&query[q[last].1..]),
        _ => Err(ResponseNotFound { anchor: needed }),
    }
}

/// The largest `L` with `q[..L] == p[p.len() - L..]` (on characters), by the prefix function of
/// `q · sentinel · p` (Knuth–Morris–Pratt), in linear time.
fn longest_prefix_that_ends(q: &[(char, usize)], p: &[char]) -> usize {
    // `None` is the sentinel: it equals no character.
    let text: Vec<Option<char>> =
        q.iter().map(|&(c, _)| Some(c)).chain(std::iter::once(None)).chain(p.iter().map(|&c| Some(c))).collect();
    let mut pi = vec![0usize; text.len()];
    for i in 1..text.len() {
        let mut k = pi[i - 1];
        while k > 0 && (text[i].is_none() || text[i] != text[k]) {
            k = pi[k - 1];
        }
        if text[i].is_some() && text[i] == text[k] {
            k += 1;
        }
        pi[i] = k;
    }
    pi.last().copied().unwrap_or(0).min(q.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefix() {
        assert_eq!(find_response("Q: 1+1?\nA: 2", "Q: 1+1?\nA:"), Ok(" 2"));
    }

    #[test]
    fn left_truncated_prompt() {
        let prompt = format!("{}Question: what is six times seven? Answer:", "Example: \\boxed{3}. ".repeat(20));
        let query = format!("{} The answer is \\boxed{{42}}<|im_end|>", &prompt[200..]);
        assert_eq!(find_response(&query, &prompt), Ok(" The answer is \\boxed{42}<|im_end|>"));
    }

    #[test]
    fn whitespace_and_special_tokens_do_not_round_trip() {
        let prompt = "<|im_start|>user\nSolve 2+2 and put the answer in a box.<|im_end|>\n<|im_start|>assistant\n";
        let query =
            "<|im_start|> user\nSolve 2+2 and  put the answer in a box. <|im_end|><|im_start|>assistant I give up.";
        assert_eq!(find_response(query, prompt), Ok(" I give up."));
    }

    /// The reward hack of issue 17: the query does not begin with the prompt and the prompt's tail
    /// is nowhere in it; the sample must be an error, not a score of the prompt's `\boxed{3}`.
    #[test]
    fn an_unfindable_prompt_is_an_error() {
        let prompt = "Example: 1+2 = \\boxed{3}.\nNow: what is 1+1? Think step by step, then answer.";
        let query = "Example: 1+2 = \\boxed{3}.\nNow: what is 1+1? Think carefully. I give up.";
        assert!(find_response(query, prompt).is_err());
    }

    /// The tail anchor must be unique: a response that repeats the prompt's tail is ambiguous.
    #[test]
    fn an_ambiguous_anchor_is_an_error() {
        let prompt = "SYSTEM PREFIX NOT SENT. Please reason step by step and box the final answer.";
        let tail = "Please reason step by step and box the final answer.";
        let once = format!("[extra] {tail} \\boxed{{1}}");
        assert_eq!(find_response(&once, prompt), Ok(" \\boxed{1}"));
        let twice = format!("[extra] {tail} {tail} \\boxed{{1}}");
        assert!(find_response(&twice, prompt).is_err());
    }

    #[test]
    fn special_token_markers() {
        assert_eq!(special_token_len("<|im_end|>x"), Some(10));
        assert_eq!(special_token_len("<s> x"), Some(3));
        assert_eq!(special_token_len("<| not a token |>"), None);
        assert_eq!(special_token_len("<|unterminated"), None);
    }
}
