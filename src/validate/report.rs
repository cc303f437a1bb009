//! The validation report: one data structure, three renderings — JSON for machines, Markdown (with a
//! chart) for people, and a plain summary table for the terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{CHECKS, Check, Problem};

/// How often one check ran and failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CheckCount {
    /// Records the check applied to.
    pub checked: usize,
    /// Records that failed it.
    pub failed: usize,
}

/// Everything `rlvr validate` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The dataset's name (its path).
    pub dataset: String,
    /// Records read (non-blank lines or rows).
    pub records: usize,
    /// Records with an `answer` and no `tests`.
    pub math_records: usize,
    /// Records with `tests`.
    pub code_records: usize,
    /// Runs per reference solution.
    pub runs: usize,
    /// Per check, in [`CHECKS`] order.
    pub checks: BTreeMap<Check, CheckCount>,
    /// All problems found, listed or not.
    pub problems_total: usize,
    /// Problems past `max_listed_problems`, counted but not listed.
    pub problems_unlisted: usize,
    /// The problems, in dataset order, up to `max_listed_problems`.
    pub problems: Vec<Problem>,
    /// Wall-clock seconds the validation took.
    pub elapsed_seconds: f64,
}

impl Report {
    /// An empty report for `dataset`.
    pub fn new(dataset: &str, runs: usize) -> Report {
        Report {
            dataset: dataset.to_string(),
            records: 0,
            math_records: 0,
            code_records: 0,
            runs,
            checks: CHECKS.iter().map(|(c, _)| (*c, CheckCount::default())).collect(),
            problems_total: 0,
            problems_unlisted: 0,
            problems: Vec::new(),
            elapsed_seconds: 0.0,
        }
    }

    /// Counts one record as checked by `check`.
    pub fn count_checked(&mut self, check: Check) {
        self.checks.entry(check).or_default().checked += 1;
    }

    /// Records a problem; past `max_listed` it is only counted.
    pub fn add_problem(&mut self, problem: Problem, max_listed: usize) {
        self.checks.entry(problem.check).or_default().failed += 1;
        self.problems_total += 1;
        if self.problems.len() < max_listed {
            self.problems.push(problem);
        } else {
            self.problems_unlisted += 1;
        }
    }

    /// Whether anything was found.
    pub fn has_problems(&self) -> bool {
        self.problems_total > 0
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// A fixed-width table of the checks, for the terminal.
    pub fn summary_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{:<20} {:>9} {:>9} {:>8}", "check", "checked", "failed", "failed%");
        for (check, count) in self.checks.iter().filter(|(_, c)| c.checked > 0 || c.failed > 0) {
            let _ = writeln!(
                out,
                "{:<20} {:>9} {:>9} {:>7.1}%",
                check.as_str(),
                count.checked,
                count.failed,
                percent(count.failed, count.checked)
            );
        }
        let _ = writeln!(
            out,
            "{} records ({} math, {} code), {} problems in {:.1} s",
            self.records, self.math_records, self.code_records, self.problems_total, self.elapsed_seconds
        );
        out
    }

    /// The report as Markdown: summary, a bar chart of failures per check, and the problems by check.
    pub fn to_markdown(&self, max_rows_per_check: usize) -> String {
        let mut out = String::new();
        let _ = write_markdown(&mut out, self, max_rows_per_check);
        out
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 }
}

/// Width of the longest bar in the Markdown chart, in characters.
const CHART_WIDTH: usize = 40;

fn write_markdown(out: &mut String, r: &Report, max_rows: usize) -> std::fmt::Result {
    writeln!(out, "# rlvr validate: `{}`\n", r.dataset)?;
    let verdict = if r.has_problems() { "**problems found**" } else { "**no problems found**" };
    writeln!(
        out,
        "{} records ({} math, {} code), {} run(s) per reference solution, {:.1} s: {verdict} ({} total).\n",
        r.records, r.math_records, r.code_records, r.runs, r.elapsed_seconds, r.problems_total
    )?;
    writeln!(out, "| check | what a failure means | checked | failed | failed % |")?;
    writeln!(out, "|---|---|---:|---:|---:|")?;
    for (check, count) in &r.checks {
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {:.1} |",
            check.as_str(),
            check.description(),
            count.checked,
            count.failed,
            percent(count.failed, count.checked)
        )?;
    }
    let failing: Vec<(&Check, &CheckCount)> = r.checks.iter().filter(|(_, c)| c.failed > 0).collect();
    if !failing.is_empty() {
        let most = failing.iter().map(|(_, c)| c.failed).max().unwrap_or(1).max(1);
        writeln!(out, "\n## Failures per check\n\n```text")?;
        for (check, count) in &failing {
            let len = (count.failed * CHART_WIDTH).div_ceil(most);
            writeln!(out, "{:<20} {} {}", check.as_str(), "█".repeat(len), count.failed)?;
        }
        writeln!(out, "```\n\n```mermaid\npie title Problems by check")?;
        for (check, count) in &failing {
            writeln!(out, "    \"{}\" : {}", check.as_str(), count.failed)?;
        }
        writeln!(out, "```")?;
    }
    for (check, _) in &failing {
        let rows: Vec<&Problem> = r.problems.iter().filter(|p| p.check == **check).collect();
        writeln!(out, "\n## `{}`\n\n| line | id | detail |\n|---:|---|---|", check.as_str())?;
        for p in rows.iter().take(max_rows) {
            writeln!(out, "| {} | {} | {} |", p.line, cell(&p.id.to_string()), cell(&p.detail))?;
        }
        if rows.len() > max_rows {
            writeln!(out, "\n… and {} more in the JSON report.", rows.len() - max_rows)?;
        }
    }
    if r.problems_unlisted > 0 {
        writeln!(out, "\n{} further problems were counted but not listed (max_listed_problems).", r.problems_unlisted)?;
    }
    Ok(())
}

/// Text safe inside one Markdown table cell, cut to 200 characters.
fn cell(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect();
    let cut: String = one_line.chars().take(200).collect();
    let cut = if one_line.chars().count() > 200 { format!("{cut}…") } else { cut };
    cut.replace('|', "\\|")
}
