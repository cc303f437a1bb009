//! Answer extraction on arbitrary text: never panics, and an extracted answer is a real span.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlvr::extract::{ExtractConfig, extract_answer, extract_gold};

fuzz_target!(|text: &str| {
    let config = ExtractConfig::default();
    if let Ok(found) = extract_answer(text, &config) {
        assert!(found.span.end <= text.len(), "span {:?} outside a {}-byte input", found.span, text.len());
        assert!(text.is_char_boundary(found.span.start) && text.is_char_boundary(found.span.end));
    }
    let _ = extract_gold(text);
});
