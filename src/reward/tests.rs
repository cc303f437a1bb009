//! Data-driven tests of the reward components and the shipped recipes.
//!
//! * `testdata/rewards/<component>.jsonl`: one case per line — a component, its parameters and
//!   limits, a group of samples with hand-given judgements, and the expected raw scores (or error).
//!   Each case runs through [`score_judged`], the same path the engine uses, with the case's
//!   samples forming one group (a sample can opt out with `"group": null`).
//! * `testdata/rewards/reference/anchors_output.ndjson`: the numbers the anchor implementations
//!   (open-r1, TRL, verl) compute for the cases that name one; a case's `expected` must equal
//!   them, unless the case says why it differs (`anchor_differs`), in which case it must differ.
//! * Every shipped recipe's `[[example]]`s score as documented, given their stated verdicts; and,
//!   once the math verifier exists, end to end through the [`crate::Engine`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::sample::Outcome;
use cases::{RewardCase, TOLERANCE};

fn rewards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rewards")
}

/// Every case of every `testdata/rewards/*.jsonl`, as `(file, line, case)`.
fn cases() -> Vec<(String, usize, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(rewards_dir())
        .expect("testdata/rewards exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&file).expect("readable test data");
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            out.push((name.clone(), i + 1, case));
        }
    }
    out
}

#[test]
fn every_case_scores_as_expected() {
    let mut failures = Vec::new();
    let mut ids = BTreeSet::new();
    let all = cases();
    assert!(all.len() >= 80, "expected the full case set, found {}", all.len());
    for (file, line, json) in &all {
        let case = match RewardCase::from_line(&json.to_string()) {
            Ok(case) => case,
            Err(e) => {
                failures.push(format!("{file}:{line}: {e}"));
                continue;
            }
        };
        assert!(ids.insert(case.id.clone()), "{file}:{line}: duplicate id {}", case.id);
        assert_eq!(format!("{}.jsonl", case.component), *file, "{file}:{line}: {} is filed wrongly", case.id);
        if let Err(why) = case.run() {
            failures.push(format!("{file}:{line} {}: {}", case.id, why.replace('\n', "\n    ")));
        }
    }
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn cases_agree_with_the_anchor_implementations() {
    let text = std::fs::read_to_string(rewards_dir().join("reference/anchors_output.ndjson"))
        .expect("run testdata/rewards/reference/anchors.py");
    let anchors: BTreeMap<String, Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("anchor output is JSON");
            (v["id"].as_str().unwrap_or_default().to_string(), v)
        })
        .collect();
    let mut failures = Vec::new();
    let mut anchored = 0;
    for (file, line, case) in cases() {
        let Some(anchor) = case.get("anchor").and_then(Value::as_str) else { continue };
        anchored += 1;
        let id = case["id"].as_str().unwrap_or_default();
        let Some(out) = anchors.get(id) else {
            failures.push(format!("{file}:{line} {id}: no anchor output; re-run anchors.py"));
            continue;
        };
        if out["anchor"].as_str() != Some(anchor) {
            failures.push(format!("{file}:{line} {id}: anchor output is for {}", out["anchor"]));
            continue;
        }
        let got: Vec<f64> =
            out["values"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
        let want: Vec<Option<f64>> =
            case["expected"].as_array().map(|a| a.iter().map(Value::as_f64).collect()).unwrap_or_default();
        let same = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| w.is_some_and(|w| (g - w).abs() <= TOLERANCE));
        match (case.get("anchor_differs").and_then(Value::as_str), same) {
            (None, false) => failures.push(format!("{file}:{line} {id}: expected {want:?}, {anchor} gives {got:?}")),
            (Some(why), true) => {
                failures.push(format!("{file}:{line} {id}: says it differs from {anchor} ({why}) but it agrees"))
            }
            _ => {}
        }
    }
    assert!(anchored >= 15, "only {anchored} cases name an anchor");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_component_is_unique_documented_and_has_cases() {
    let cases = cases();
    let mut names = BTreeSet::new();
    for c in COMPONENTS {
        assert!(names.insert(c.name()), "component `{}` registered twice", c.name());
        assert!(!c.doc().is_empty(), "component `{}` has no doc", c.name());
        for p in c.params() {
            assert!(!p.doc.is_empty() && !p.default.is_empty(), "`{}.{}` is undocumented", c.name(), p.name);
        }
        let n = cases.iter().filter(|(_, _, case)| case["component"] == c.name()).count();
        assert!(n >= 3, "component `{}` has only {n} test cases", c.name());
        let has_required = c.params().iter().any(|p| p.default == "required");
        let built = c.build(&Params::new(c.name(), &toml::Table::new()));
        assert_eq!(built.is_err(), has_required, "`{}`: documented defaults disagree with build()", c.name());
    }
}

fn builtin() -> RecipeBook {
    RecipeBook::builtin().expect("the shipped recipes load")
}

/// Scores a recipe's examples with their stated judgements; examples sharing `group` form a group.
fn score_examples(recipe: &Recipe) -> Vec<Outcome> {
    let samples: Vec<Sample> = recipe.examples.iter().enumerate().map(|(i, e)| e.to_sample(&recipe.name, i)).collect();
    let judged: Vec<Judged<'_>> = samples
        .iter()
        .zip(&recipe.examples)
        .map(|(sample, e)| Judged { sample, recipe, judgement: e.judgement() })
        .collect();
    score_judged(&judged)
}

fn check_examples(recipe: &Recipe, outcomes: &[Outcome], failures: &mut Vec<String>) {
    for (i, (example, outcome)) in recipe.examples.iter().zip(outcomes).enumerate() {
        let at = format!("recipe `{}` example {}", recipe.name, i + 1);
        if outcome.verdict != example.verdict {
            failures.push(format!(
                "{at}: verdict {} (error {:?}), expected {}",
                outcome.verdict, outcome.error, example.verdict
            ));
        }
        if (outcome.reward - example.reward).abs() > TOLERANCE {
            failures
                .push(format!("{at}: reward {}, expected {} ({:?})", outcome.reward, example.reward, outcome.error));
        }
        for (name, want) in &example.components {
            match outcome.components.get(name) {
                Some(got) if (got.score - want).abs() <= TOLERANCE => {}
                got => failures.push(format!("{at}: component {name} = {got:?}, expected {want}")),
            }
        }
    }
}

#[test]
fn shipped_recipes_are_the_documented_set() {
    let book = builtin();
    let names: Vec<&str> = book.iter().map(|r| r.name.as_str()).collect();
    for required in ["math", "r1-math", "gsm8k", "dapo-math", "code", "code-partial", "r1-code"] {
        assert!(names.contains(&required), "recipe `{required}` is not shipped");
    }
    for recipe in book.iter() {
        assert!(recipe.examples.len() >= 2, "recipe `{}` needs at least two examples", recipe.name);
        assert!(!recipe.description.is_empty());
    }
    let dapo = book.get("dapo-math").expect("shipped");
    assert_eq!(dapo.components.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["accuracy", "overlong"]);
    let r1_code = book.get("r1-code").expect("shipped");
    assert_eq!(r1_code.verifier, VerifierKind::Code);
    assert_eq!(r1_code.components.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["accuracy", "think_format"]);
}

#[test]
fn shipped_recipes_score_their_examples_given_the_verdict() {
    let mut failures = Vec::new();
    for recipe in builtin().iter() {
        check_examples(recipe, &score_examples(recipe), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn shipped_math_recipes_score_their_examples_end_to_end() {
    let engine = crate::Engine::new(crate::batch::EngineConfig::default()).expect("engine");
    let mut failures = Vec::new();
    for recipe in builtin().iter().filter(|r| r.verifier == VerifierKind::Math) {
        let samples: Vec<Sample> =
            recipe.examples.iter().enumerate().map(|(i, e)| e.to_sample(&recipe.name, i)).collect();
        check_examples(recipe, &engine.score_batch(&samples), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn parse_err(text: &str) -> (usize, String) {
    match Recipe::parse(Path::new("user.toml"), text) {
        Err(RecipeError::Invalid { line, message, path }) => {
            assert_eq!(path, Path::new("user.toml"));
            (line, message)
        }
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

const HEAD: &str = "name = \"mine\"\ndescription = \"d\"\nverifier = \"math\"\n";

#[test]
fn recipe_errors_name_the_line_and_the_key() {
    let (line, msg) = parse_err(&format!(
        "{HEAD}\n[[component]]\nname = \"repetition\"\nparams = {{ ngram_size = 3 }}\n\n[[component]]\nname = \"overlong\"\n\
         params = {{ max_length = 100, bufer = 10 }}\n"
    ));
    assert_eq!(line, 11, "{msg}");
    assert!(msg.contains("unknown parameter `bufer`") && msg.contains("overlong"), "{msg}");

    let (line, msg) =
        parse_err(&format!("{HEAD}[[component]]\nname = \"overlong\"\nparams = {{ max_length = 100 }}\n"));
    assert_eq!(line, 5, "{msg}");
    assert!(msg.contains("params.buffer: component `overlong`: is required"), "{msg}");

    let (line, msg) = parse_err(&format!("{HEAD}[[component]]\nname = \"lenght\"\n"));
    assert_eq!((line, msg.contains("unknown component `lenght`")), (5, true), "{msg}");

    let (line, msg) =
        parse_err(&format!("{HEAD}[[component]]\nname = \"think_format\"\n[component.params]\nmode = \"strikt\"\n"));
    assert_eq!((line, msg.contains("params.mode")), (7, true), "{msg}");

    let (line, msg) = parse_err(&format!("{HEAD}[[component]]\nname = \"accuracy\"\nweight = nan\n"));
    assert_eq!((line, msg.contains("weight must be finite")), (6, true), "{msg}");

    let (line, msg) = parse_err(&format!("{HEAD}[[component]]\nname = \"accuracy\"\nwieght = 1\n"));
    assert_eq!((line, msg.contains("wieght")), (6, true), "{msg}");

    let (line, msg) = parse_err(&format!("{HEAD}[limits]\nmax_bytes = 3\n[[component]]\nname = \"accuracy\"\n"));
    assert_eq!((line, msg.contains("max_bytes")), (5, true), "{msg}");

    let (line, msg) = parse_err(&format!("{HEAD}[limits]\nmax_group_size = 0\n[[component]]\nname = \"accuracy\"\n"));
    assert_eq!((line, msg.contains("at least 1")), (4, true), "{msg}");

    let (line, msg) =
        parse_err(&format!("{HEAD}[[component]]\nname = \"accuracy\"\n[[component]]\nname = \"accuracy\"\n"));
    assert_eq!((line, msg.contains("appears twice")), (7, true), "{msg}");

    let (line, msg) = parse_err(&format!(
        "{HEAD}[[component]]\nname = \"accuracy\"\n[[example]]\ncompletion = \"x\"\nverdict = \"correct\"\nreward = 1.0\n\
         components = {{ think_format = 1.0 }}\n"
    ));
    assert_eq!((line, msg.contains("`think_format` is not a component")), (6, true), "{msg}");

    let (line, msg) =
        parse_err(&format!("{HEAD}[[component]]\nname = \"repetition\"\nparams = {{ max_penalty = 0.5 }}\n"));
    assert_eq!((line, msg.contains("should not be positive")), (6, true), "{msg}");

    let (line, msg) = parse_err(&format!(
        "{HEAD}[[component]]\nname = \"accuracy\"\n[[example]]\ncompletion = \"x\"\nverdict = \"correct\"\nreward = 1.0\n\
         fields = {{ recipe = \"math\" }}\n"
    ));
    assert_eq!((line, msg.contains("example.fields.recipe")), (6, true), "{msg}");

    let (_, msg) = parse_err(HEAD);
    assert!(msg.contains("at least one [[component]]"), "{msg}");
}

#[test]
fn a_user_recipe_directory_loads_and_reports_the_broken_file() {
    let dir = std::env::temp_dir().join(format!("rlvr-recipes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("a.toml"), format!("{HEAD}[[component]]\nname = \"tag_count\"\n")).expect("write");
    let mut book = builtin();
    book.load_dir(&dir).expect("a valid user recipe loads");
    assert!(book.get("mine").is_some());
    std::fs::write(dir.join("b.toml"), format!("{HEAD}[[component]]\nname = \"tag_count\"\nparams = {{ x = 1 }}\n"))
        .expect("write");
    let err = builtin().load_dir(&dir).expect_err("b.toml is broken");
    let shown = err.to_string();
    assert!(shown.contains("b.toml:6: component.params.x"), "{shown}");
    std::fs::remove_dir_all(&dir).ok();
}

fn judged_outcomes(recipe: &Recipe, samples: &[Sample], verdict: Verdict) -> Vec<Outcome> {
    let judged: Vec<Judged<'_>> =
        samples.iter().map(|sample| Judged { sample, recipe, judgement: Judgement::of(verdict) }).collect();
    score_judged(&judged)
}

fn sample(id: &str, completion: &str, fields: Value) -> Sample {
    let mut map = fields.as_object().cloned().unwrap_or_default();
    map.insert("id".into(), Value::from(id));
    map.insert("completion".into(), Value::from(completion));
    Sample::from_json(Value::Object(map)).expect("valid sample")
}

#[test]
fn groups_are_formed_by_group_then_prompt_and_never_guessed() {
    let book = builtin();
    let recipe = book.get("r1-math-shaped").expect("shipped");
    let samples = [
        sample("a", "short", serde_json::json!({"prompt": "p1"})),
        sample("b", "much longer", serde_json::json!({"prompt": "p1"})),
        sample("c", "x", serde_json::json!({"group": 7, "prompt": "p1"})),
        sample("d", "xyz", serde_json::json!({"group": 7})),
        sample("e", "alone", serde_json::json!({})),
    ];
    let out = judged_outcomes(recipe, &samples, Verdict::Correct);
    let length = |i: usize| out[i].components.get("length").map(|c| c.score);
    assert_eq!((length(0), length(1)), (Some(0.5), Some(-0.5)), "prompt p1 forms one group of two");
    assert_eq!((length(2), length(3)), (Some(0.5), Some(-0.5)), "group 7 wins over the prompt");
    assert_eq!(out[4].verdict, Verdict::Error);
    assert_eq!(out[4].reward, 0.0);
    assert!(out[4].error.as_deref().is_some_and(|e| e.contains("component `length`: needs the sample's group")));
    assert!(out[4].components.contains_key("accuracy"), "components that scored are still shown");
}

#[test]
fn group_size_limit_is_exact() {
    let text = format!("{HEAD}[limits]\nmax_group_size = 3\n[[component]]\nname = \"length\"\n");
    let recipe = Recipe::parse(Path::new("g.toml"), &text).expect("valid");
    let group = |n: usize| -> Vec<Sample> {
        (0..n).map(|i| sample(&i.to_string(), &"x".repeat(i + 1), serde_json::json!({"group": "g"}))).collect()
    };
    let at = judged_outcomes(&recipe, &group(3), Verdict::Correct);
    assert!(at.iter().all(|o| o.error.is_none()), "{at:?}");
    let past = judged_outcomes(&recipe, &group(4), Verdict::Correct);
    assert!(
        past.iter().all(|o| o.verdict == Verdict::LimitExceeded
            && o.error.as_deref().is_some_and(|e| e.contains("max_group_size = 3")))
    );
}

#[test]
fn a_panicking_component_is_one_error_outcome() {
    #[derive(Debug)]
    struct Panics;
    impl Scorer for Panics {
        fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
            if ctx.sample.completion == "boom" {
                panic!("component bug");
            }
            Ok(1.0.into())
        }
    }
    let mut recipe =
        Recipe::parse(Path::new("p.toml"), &format!("{HEAD}[[component]]\nname = \"accuracy\"\n")).expect("valid");
    recipe.components[0].scorer = std::sync::Arc::new(Panics);
    let samples = [sample("ok", "fine", serde_json::json!({})), sample("bad", "boom", serde_json::json!({}))];
    let out = judged_outcomes(&recipe, &samples, Verdict::Correct);
    assert_eq!(out[0].reward, 1.0);
    assert_eq!(out[1].verdict, Verdict::Error);
    assert!(out[1].error.as_deref().is_some_and(|e| e.contains("component bug")), "{:?}", out[1].error);
}

#[test]
fn every_prefix_of_every_shipped_recipe_parses_or_names_a_real_line() {
    for (file, text) in recipe::BUILTIN {
        let lines = text.lines().count().max(1);
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let prefix = &text[..end];
            match Recipe::parse(Path::new(file), prefix) {
                Ok(recipe) => assert!(!recipe.components.is_empty()),
                Err(RecipeError::Invalid { line, .. }) => {
                    assert!((1..=lines + 1).contains(&line), "{file}[..{end}]: line {line} of {lines}")
                }
                Err(other) => panic!("{file}[..{end}]: unexpected {other}"),
            }
        }
    }
}

#[test]
fn the_user_guide_documents_every_component_parameter_and_recipe() {
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("verifiers/README.md"))
        .expect("verifiers/README.md");
    for c in COMPONENTS {
        let row = guide
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", c.name())))
            .unwrap_or_else(|| panic!("verifiers/README.md has no row for `{}`", c.name()));
        for p in c.params() {
            assert!(row.contains(&format!("`{}`", p.name)), "the row of `{}` misses `{}`", c.name(), p.name);
        }
    }
    for recipe in builtin().iter() {
        assert!(guide.contains(&format!("| `{}` |", recipe.name)), "recipe `{}` is not listed", recipe.name);
    }
}

#[test]
fn a_math_recipe_sets_its_own_reasoning_markers_and_box_policy() {
    let text = format!(
        "{HEAD}[extract]\nreasoning = [\"think\"]\nmultiple_boxes = \"last\"\n\n[[component]]\nname = \"accuracy\"\n"
    );
    let recipe = Recipe::parse(Path::new("user.toml"), &text).expect("a valid recipe");
    assert_eq!(recipe.extract.multiple_boxes, Some(crate::extract::MultipleBoxes::Last));
    let dir = std::env::temp_dir().join(format!("rlvr-recipe-extract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("mine.toml"), &text).expect("write recipe");
    let mut book = RecipeBook::builtin().expect("built-in recipes");
    book.load_dir(&dir).expect("the recipe loads");
    let _ = std::fs::remove_dir_all(&dir);
    let engine = crate::Engine::with_recipes(crate::batch::EngineConfig::default(), book);
    let hedge = sample("a", r"It is \boxed{3} or \boxed{4}.", serde_json::json!({"answer": "4", "recipe": "mine"}));
    // `<reasoning>` is not one of this recipe's markers, so the box inside it is read.
    let tagged = sample("b", r"<reasoning>so \boxed{5}", serde_json::json!({"answer": "5", "recipe": "mine"}));
    let out = engine.score_batch(&[hedge, tagged]);
    assert_eq!(out.iter().map(|o| o.correct).collect::<Vec<_>>(), [true, true]);
    // The same samples under the built-in `math` recipe: hedging, and no answer after `<reasoning>`.
    let hedge = sample("a", r"It is \boxed{3} or \boxed{4}.", serde_json::json!({"answer": "4"}));
    let tagged = sample("b", r"<reasoning>so \boxed{5}", serde_json::json!({"answer": "5"}));
    let out = engine.score_batch(&[hedge, tagged]);
    assert_eq!(out.iter().map(|o| o.correct).collect::<Vec<_>>(), [false, false]);

    let (line, msg) =
        parse_err(&format!("{HEAD}[extract]\nreasoning = [\"scratchpad\"]\n[[component]]\nname = \"accuracy\"\n"));
    assert_eq!(line, 4, "{msg}");
    assert!(msg.contains("unknown markers `scratchpad`"), "{msg}");
    let (_, msg) =
        parse_err(&format!("{HEAD}[extract]\nmultiple_boxes = \"first\"\n[[component]]\nname = \"accuracy\"\n"));
    assert!(msg.contains("first"), "{msg}");
}
