//! `rlvr recipes`: the reward recipes with their documentation.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::recipe_book;

/// Arguments of `rlvr recipes`.
#[derive(Debug, clap::Args)]
pub struct RecipesArgs {
    /// A directory of extra recipe files (`*.toml`).
    #[arg(long)]
    pub recipes: Option<PathBuf>,
}

pub(super) fn run(a: RecipesArgs) -> Result<ExitCode> {
    let book = recipe_book(a.recipes.as_ref())?;
    let mut out = io::stdout().lock();
    for recipe in book.iter() {
        writeln!(out, "{} (verifier: {:?})\n    {}", recipe.name, recipe.verifier, recipe.description)?;
        for c in &recipe.components {
            let doc = crate::reward::component(&c.name).map_or("", |c| c.doc());
            writeln!(out, "    - {} × {}: {}", c.name, c.weight, doc)?;
            if !c.params.is_empty() {
                let params: Vec<String> = c.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                writeln!(out, "      params: {}", params.join(", "))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
