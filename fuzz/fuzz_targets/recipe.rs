//! Arbitrary recipe files: a clear error or a recipe, never a panic; errors name a real line.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rlvr::reward::{Recipe, RecipeError};

fuzz_target!(|text: &str| {
    match Recipe::parse(Path::new("fuzz.toml"), text) {
        Ok(recipe) => assert!(!recipe.components.is_empty()),
        Err(RecipeError::Invalid { line, .. }) => assert!(line >= 1 && line <= text.lines().count().max(1) + 1),
        Err(_) => {}
    }
});
