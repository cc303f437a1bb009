//! Extraction alone, without the math side: tiers, limits, pathological inputs, and every case of
//! `testdata/extract/*.jsonl` checked against its `expected_extracted`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::*;

fn answer(text: &str) -> Result<String, ExtractError> {
    extract_answer(text, &ExtractConfig::default()).map(|e| e.answer)
}

fn source(text: &str) -> Option<AnswerSource> {
    extract_answer(text, &ExtractConfig::default()).ok().map(|e| e.source)
}

#[test]
fn tiers_in_order() {
    assert_eq!(source(r"The answer is 4, so \boxed{5}"), Some(AnswerSource::Boxed));
    assert_eq!(source("<think>x</think><answer>18</answer>"), Some(AnswerSource::AnswerTag));
    assert_eq!(source("3 + 15 = 18\n#### 18"), Some(AnswerSource::Gsm8k));
    assert_eq!(source("So the answer is 18."), Some(AnswerSource::AnswerPhrase));
    assert_eq!(source("We add them up to get **73**."), Some(AnswerSource::Bold));
    assert_eq!(source("-5"), Some(AnswerSource::Whole));
    assert_eq!(
        source("We get $x = 3$ after all of this work, which we verify below in detail."),
        Some(AnswerSource::MathEnv)
    );
    assert_eq!(
        source("We get 3 apples and then 4 more apples after some work, then we stop here."),
        Some(AnswerSource::LastNumber)
    );
}

#[test]
fn span_points_into_the_completion() {
    let text = "<think>maybe \\boxed{3}</think>So $\\boxed{\\frac{1}{2}}$.";
    let found = extract_answer(text, &ExtractConfig::default()).expect("boxed answer");
    assert_eq!(&text[found.span.clone()], "\\frac{1}{2}");
    assert_eq!(found.answer, "\\frac{1}{2}");
}

#[test]
fn think_handling() {
    assert_eq!(answer("<think>the answer is \\boxed{3}</think>"), Err(ExtractError::NoAnswer));
    assert_eq!(answer("<think>I will say 3"), Err(ExtractError::NoAnswer));
    assert_eq!(answer("<think>3</think> The answer is 4."), Ok("4".into()));
    assert_eq!(answer("reasoning</think>\n\n\\boxed{7}"), Ok("7".into()));
    let off = ExtractConfig { after_think: false, ..ExtractConfig::default() };
    assert_eq!(extract_answer("<think>\\boxed{3}", &off).map(|e| e.answer), Ok("3".into()));
}

#[test]
fn hedging() {
    assert_eq!(answer(r"\boxed{3} or \boxed{4}"), Err(ExtractError::Hedged(vec!["3".into(), "4".into()])));
    assert_eq!(answer(r"\boxed{840} ... so again \boxed{ 840 }"), Ok("840".into()));
    // Math-Verify's row 47: on its own, extract_answer calls it hedging.
    assert_eq!(answer(r"\boxed{17}, and \boxed{18}"), Err(ExtractError::Hedged(vec!["17".into(), "18".into()])));
    let list = ExtractConfig { multiple_boxed: MultipleBoxed::List, ..ExtractConfig::default() };
    assert_eq!(extract_answer(r"\boxed{17}, and \boxed{18}", &list).map(|e| e.answer), Ok("17, 18".into()));
    assert_eq!(answer(r"\boxed{}"), Err(ExtractError::NoAnswer));
    assert_eq!(answer(r"\boxed{} The answer is 5"), Err(ExtractError::NoAnswer));
    assert_eq!(answer(r"\boxed{} then \boxed{5}"), Ok("5".into()));
}

#[test]
fn delimiters_are_stripped() {
    assert_eq!(answer(r"The answer is $\frac{1}{2}$."), Ok(r"\frac{1}{2}".into()));
    assert_eq!(answer(r"is $\boxed{11,\! 111,\! 111,\! 100}$"), Ok("11,111,111,100".into()));
    assert_eq!(answer(r"\[ \boxed{9{,}500} \]"), Ok("9{,}500".into()));
    assert_eq!(answer("Answer: \\( 9 \\)"), Ok("9".into()));
}

#[test]
fn gold_forms() {
    assert_eq!(extract_gold("42"), "42");
    assert_eq!(extract_gold(r"$\frac12$"), r"\frac12");
    assert_eq!(extract_gold(r"\boxed{2}"), "2");
    assert_eq!(extract_gold(r"\(\boxed{1}\) and \(\boxed{-2}\)."), "1, -2");
    assert_eq!(extract_gold("Natalia sold 48/2 = 24 clips.\n#### 72"), "72");
    assert_eq!(extract_gold("$1$ and $2$ and $3$"), "$1$ and $2$ and $3$");
    // Never the last-number fallback: a prose gold stays prose.
    assert_eq!(extract_gold("He has 3 apples"), "He has 3 apples");
}

#[test]
fn several_answer_golds_read_boxes_as_a_list() {
    assert!(gold_has_several_answers("1, -2"));
    assert!(gold_has_several_answers("(2, 2), (6, 2)"));
    assert!(gold_has_several_answers(r"6 \text{ and } 8"));
    assert!(gold_has_several_answers("k = 45; n = 2"));
    assert!(!gold_has_several_answers("7,425,000"));
    assert!(!gold_has_several_answers("(1, 2)"));
    assert!(!gold_has_several_answers(r"\{1, 2, 3\}"));
    assert!(!gold_has_several_answers(r"\frac{1}{2}"));
    assert!(!gold_has_several_answers("random"));
    let config = ExtractConfig::default();
    let two = r"\boxed{1} and \boxed{-2}";
    assert_eq!(extract_for_gold("1, -2", two, &config).map(|e| e.answer), Ok("1, -2".into()));
    assert!(matches!(extract_for_gold("1", two, &config), Err(ExtractError::Hedged(_))));
    assert_eq!(
        extract_for_gold("(C)", "I'd say B", &config).map(|e| (e.answer, e.source)),
        Ok(("B".into(), AnswerSource::Choice))
    );
}

#[test]
fn input_size_limit_boundary() {
    let config = ExtractConfig { max_input_bytes: 64, ..ExtractConfig::default() };
    let at_limit = format!("{}\\boxed{{7}}", " ".repeat(64 - 9));
    assert_eq!(at_limit.len(), 64);
    assert_eq!(extract_answer(&at_limit, &config).map(|e| e.answer), Ok("7".into()));
    let past = format!(" {at_limit}");
    assert_eq!(extract_answer(&past, &config), Err(ExtractError::TooLong { len: 65, limit: 64 }));
    assert_eq!(
        extract_choice(&past, &['A'], &config).map(|c| c.letter),
        Err(ExtractError::TooLong { len: 65, limit: 64 })
    );
}

#[test]
fn answer_marker_limit_boundary() {
    let config = ExtractConfig {
        max_answer_markers: 4,
        math_env_fallback: false,
        last_number_fallback: false,
        ..ExtractConfig::default()
    };
    // The good marker is the 4th from the right: found; the 5th: past the limit.
    let at_limit = format!("The answer is 5.\n{}", "The answer is .\n".repeat(3));
    assert_eq!(extract_answer(&at_limit, &config).map(|e| e.answer), Ok("5".into()));
    let past = format!("The answer is 5.\n{}", "The answer is .\n".repeat(4));
    assert_eq!(extract_answer(&past, &config), Err(ExtractError::NoAnswer));
    assert_eq!(extract_choice(&at_limit.replace('5', "B"), &['A', 'B'], &config).map(|c| c.letter), Ok('B'));
}

#[test]
fn whole_tier_size_boundary() {
    let config = ExtractConfig {
        max_whole_bytes: 8,
        math_env_fallback: false,
        last_number_fallback: false,
        ..ExtractConfig::default()
    };
    assert_eq!(extract_answer("12345678", &config).map(|e| e.source), Ok(AnswerSource::Whole));
    assert_eq!(extract_answer("123456789", &config), Err(ExtractError::NoAnswer));
}

#[test]
fn fallbacks_can_be_turned_off() {
    let strict = ExtractConfig { math_env_fallback: false, last_number_fallback: false, ..ExtractConfig::default() };
    let text = "After 3 pages of long and careful algebra we find $x$.";
    assert_eq!(extract_answer(text, &strict), Err(ExtractError::NoAnswer));
    assert_eq!(answer(text), Ok("x".into()));
}

/// Runs `f` on a thread with a 2 MiB stack (rayon's and tokio's default) and returns its result.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn a test thread")
        .join()
        .expect("extraction must not overflow a 2 MiB stack")
}

/// Pathological inputs: each must finish in one linear pass. The budget is generous (debug build,
/// shared CI machine) but a quadratic scan of these sizes would take minutes.
fn assert_fast(name: &'static str, text: String) -> Result<Extraction, ExtractError> {
    on_small_stack(move || {
        let started = Instant::now();
        let result = extract_answer(&text, &ExtractConfig::default());
        let _ = extract_choice(&text, &['A', 'B', 'C', 'D'], &ExtractConfig::default());
        let _ = extract_gold(&text);
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(2), "{name}: {elapsed:?}");
        result
    })
}

#[test]
fn pathological_nested_braces() {
    let open = format!("\\boxed{}", "{".repeat(100_000));
    assert_eq!(assert_fast("100k unclosed braces", open.clone()).map(|e| e.source).ok(), None);
    let closed = format!("\\boxed{}5{}", "{".repeat(100_000), "}".repeat(100_000));
    assert_eq!(assert_fast("100k nested braces", closed).map(|e| e.answer.len()), Ok(200_001 - 2));
}

#[test]
fn pathological_digits_and_boxes() {
    let digits = "1 ".repeat(100_000);
    assert_eq!(assert_fast("200 KB of digits", digits).map(|e| e.answer), Ok("1".into()));
    let solid = "9".repeat(200_000);
    assert_eq!(assert_fast("200 KB number", solid).map(|e| e.answer.len()), Ok(200_000));
    let boxes: String = (0..2000).map(|i| format!("\\boxed{{{i}}} ")).collect();
    match assert_fast("2000 boxes", boxes) {
        Err(ExtractError::Hedged(list)) => assert_eq!(list.len(), 2000),
        other => panic!("2000 different boxes must be hedging, got {other:?}"),
    }
    let same: String = "\\boxed{7} ".repeat(2000);
    assert_eq!(assert_fast("2000 same boxes", same).map(|e| e.answer), Ok("7".into()));
}

#[test]
fn pathological_one_megabyte() {
    let mut cot = "Let us compute $x_1 = 3$ and then continue. ".repeat(23_000);
    cot.push_str("The final answer is $\\boxed{42}$.");
    assert!(cot.len() < 1 << 20);
    assert_eq!(assert_fast("1 MB CoT", cot).map(|e| e.answer), Ok("42".into()));
    let dollars = "$".repeat(1 << 20);
    assert!(assert_fast("1 MB of dollars", dollars).is_err());
    let parens = "\\(".repeat(1 << 19);
    assert!(assert_fast("1 MB of \\(", parens).is_err());
    let markers = "the answer is ".repeat(70_000);
    let _ = assert_fast("70k answer markers", markers);
    let bold = "**".repeat(1 << 19);
    let _ = assert_fast("1 MB of bold markers", bold);
    let hashes = "#### \n".repeat(150_000);
    let _ = assert_fast("150k empty GSM8K markers", hashes);
}

#[test]
fn typical_cot_takes_microseconds() {
    let mut cot = String::from("<think>\n");
    cot.push_str(&"We have $a^2 + b^2 = c^2$, so with $a = 3$ and $b = 4$ we get $c = 5$. ".repeat(25));
    cot.push_str("</think>\nThe hypotenuse is $c = 5$, so the answer is $\\boxed{5}$.");
    assert!(cot.len() > 1500);
    let config = ExtractConfig::default();
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        assert_eq!(extract_answer(&cot, &config).map(|e| e.answer), Ok("5".into()));
    }
    let per_call = started.elapsed() / rounds;
    // Release builds take a few µs; even an unoptimised build on a loaded machine stays far below 1 ms.
    assert!(per_call < Duration::from_millis(1), "{per_call:?} per 2 KB completion");
}

/// One line of `testdata/extract/*.jsonl`.
#[derive(serde::Deserialize)]
struct Case {
    id: String,
    answer: String,
    completion: String,
    expected_extracted: Option<String>,
    #[serde(default)]
    expected_verdict: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    see: Option<String>,
    /// Cases that run under another configuration are checked by the testdata harness only.
    #[serde(default)]
    extract_config: Option<serde_json::Value>,
}

#[test]
fn testdata_cases_extract_as_labelled() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/extract");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/extract exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut ids = HashSet::new();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable testdata");
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let case: Case = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
            assert!(ids.insert(case.id.clone()), "duplicate id {}", case.id);
            assert!(case.source.is_some() || case.see.is_some(), "{} has no source or see", case.id);
            count += 1;
            if case.extract_config.is_some() {
                continue;
            }
            let config = ExtractConfig::default();
            let got = extract_for_gold(&case.answer, &case.completion, &config).map(|e| e.answer);
            let got_text = got.as_ref().ok().cloned();
            if got_text != case.expected_extracted {
                failures.push(format!("{}: expected {:?}, got {:?}", case.id, case.expected_extracted, got));
            }
            if case.expected_verdict.as_deref() == Some("no_answer") && got != Err(ExtractError::NoAnswer) {
                failures.push(format!("{}: expected no answer, got {:?}", case.id, got));
            }
        }
    }
    assert!(count >= 160, "only {count} extraction cases");
    assert!(failures.is_empty(), "{} of {count} cases differ:\n{}", failures.len(), failures.join("\n"));
}

/// Pieces that the extraction scanners treat specially, for the randomised robustness test.
const PIECES: &[&str] = &[
    "\\boxed",
    "\\boxed{",
    "\\fbox",
    "{",
    "}",
    "\\{",
    "\\}",
    "$",
    "$$",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "\\",
    "\\!",
    "\\,",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "####",
    "**",
    "The answer is ",
    "Answer:",
    "final answer is ",
    "I hope it is correct",
    "答案是",
    "réponse est ",
    "Ответ:",
    "(C)",
    "\\text{",
    "A",
    "B",
    " ",
    "\n",
    ".",
    ",",
    "-",
    "1",
    "42",
    "7,425,000",
    ".5",
    "13/28",
    "x",
    "é",
    "🎉",
    "\u{0}",
    "。",
    "，",
    "</",
    "<",
];

/// Random concatenations of special pieces never panic, and every span is a real span of the input.
#[test]
fn random_inputs_never_panic_and_spans_are_valid() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let config = ExtractConfig::default();
    for _ in 0..20_000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        let spans = [
            extract_answer(&text, &config).map(|e| e.span),
            extract_choice(&text, &['A', 'B', 'C', 'D'], &config).map(|c| c.span),
            extract_for_gold("1, 2", &text, &config).map(|e| e.span),
        ];
        for span in spans.into_iter().flatten() {
            assert!(span.start <= span.end && span.end <= text.len(), "{span:?} in {text:?}");
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{span:?} in {text:?}");
        }
        let _ = extract_gold(&text);
        let _ = gold_choice(&text);
    }
}

#[test]
fn multiple_boxes_policies() {
    let with = |policy| ExtractConfig { multiple_boxes: policy, ..ExtractConfig::default() };
    let revised = r"The total is \boxed{12}. Hmm, I slipped in the second step; redoing it gives \boxed{14}.";
    let hedged = r"It is \boxed{3} or \boxed{4}.";
    let read = |text: &str, policy| extract_answer(text, &with(policy)).map(|e| e.answer);
    assert_eq!(read(revised, MultipleBoxes::RejectHedging), Ok("14".into()));
    assert_eq!(read(revised, MultipleBoxes::Last), Ok("14".into()));
    assert_eq!(read(revised, MultipleBoxes::Reject), Err(ExtractError::Hedged(vec!["12".into(), "14".into()])));
    assert_eq!(read(hedged, MultipleBoxes::RejectHedging), Err(ExtractError::Hedged(vec!["3".into(), "4".into()])));
    assert_eq!(read(hedged, MultipleBoxes::Last), Ok("4".into()));
    // An offering sentence is not a revision, and a bare full stop is no sentence.
    assert!(read(r"\boxed{3}. Or maybe it is \boxed{4}.", MultipleBoxes::RejectHedging).is_err());
    assert!(read(r"\boxed{3}. \boxed{4}.", MultipleBoxes::RejectHedging).is_err());
    assert_eq!(MultipleBoxes::from_name("reject_hedging"), Some(MultipleBoxes::RejectHedging));
    assert_eq!(MultipleBoxes::from_name("first"), None);
    assert_eq!(ExtractConfig::default().multiple_boxes, MultipleBoxes::RejectHedging);
}

#[test]
fn placeholder_boxes_are_not_answers() {
    for blank in [r"\phantom{2}", r"\quad", r"\qquad", r"\square", r"\Box", "?", r"\_\_", r"\hphantom{00}"] {
        let text = format!(r"Fill in $3 + \boxed{{{blank}}} = 7$: the blank is \boxed{{4}}.");
        assert_eq!(answer(&text), Ok("4".into()), "{blank}");
    }
    // Only placeholders: the boxed tier is absent and the answer phrase is read.
    assert_eq!(answer(r"Fill in $3 + \boxed{\quad} = 7$. The answer is 4."), Ok("4".into()));
    // A command that merely starts like a blank is an answer.
    assert_eq!(answer(r"\boxed{\quadrilateral}"), Ok(r"\quadrilateral".into()));
}

#[test]
fn reasoning_markers() {
    let sky =
        "<|begin_of_thought|>\n\\boxed{5}\n<|end_of_thought|>\n<|begin_of_solution|>\n\\boxed{6}\n<|end_of_solution|>";
    assert_eq!(answer(sky), Ok("6".into()));
    assert_eq!(answer("<|begin_of_thought|>\nthe answer is \\boxed{5}"), Err(ExtractError::NoAnswer));
    assert_eq!(answer("<reasoning>\\boxed{5}</reasoning>\\boxed{6}"), Ok("6".into()));
    let think_only =
        ExtractConfig { reasoning: vec![ReasoningMarkers::new("<think>", "</think>")], ..ExtractConfig::default() };
    let read = |t: &str| extract_answer(t, &think_only).map(|e| e.answer);
    assert_eq!(read("<reasoning>\\boxed{5}"), Ok("5".into()));
    assert_eq!(ReasoningMarkers::named("thought").map(|m| m.close), Some("<|end_of_thought|>".into()));
    assert_eq!(ReasoningMarkers::named("scratchpad"), None);
}
