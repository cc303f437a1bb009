//! `rlvr math`: one gold answer against one prediction, with the verdict explained.

use std::process::ExitCode;

use anyhow::Result;

use crate::math;
use crate::sample::Verdict;

/// Arguments of `rlvr math`.
#[derive(Debug, clap::Args)]
pub struct MathArgs {
    /// The gold answer (bare `42`, `$\frac12$` or `\boxed{2}`).
    pub gold: String,
    /// The prediction: a bare answer or a whole completion.
    pub pred: String,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(a: MathArgs) -> Result<ExitCode> {
    let check = math::check(&a.gold, &a.pred, &math::MathConfig::default());
    if a.json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        println!("verdict:   {}", check.verdict);
        println!("extracted: {}", show(&check.extracted));
        println!("gold:      {}", show(&check.gold_parsed));
        println!("pred:      {}", show(&check.pred_parsed));
        println!("why:       {}", check.reason);
    }
    Ok(match check.verdict {
        Verdict::Correct => ExitCode::SUCCESS,
        Verdict::InvalidGold | Verdict::Error => ExitCode::from(2),
        _ => ExitCode::from(1),
    })
}
