//! Graded arithmetic datasets for pretrained models: `What is A × B?` questions at levels of
//! rising difficulty, drawn from a seed and split into disjoint train and held-out sets (no
//! held-out question is ever trained on). Rows are in the GSM8K layout (`question`, `answer`),
//! so `rlvr train --map prompt=question --recipe gsm8k` reads them like GSM8K.
//!
//! Levels exist because a learning signal needs groups with mixed rewards: at the training
//! temperature, a prompt whose `num_generations` samples are all right or all wrong carries no
//! GRPO gradient. Measure the mixed-group share per level (the trainer logs
//! `frac_reward_zero_std`) and train on the level where it is highest.

use serde::Serialize;

use crate::train::TrainError;
use crate::train::rng::Rng;

/// An operation of a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `a + b`.
    Add,
    /// `a × b`.
    Mul,
}

/// One difficulty level: both operands' inclusive ranges and the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Range of the first operand.
    pub a: (u64, u64),
    /// Range of the second operand.
    pub b: (u64, u64),
    /// The operation.
    pub op: Op,
}

impl Level {
    /// Number of distinct questions at this level.
    pub fn size(&self) -> u64 {
        (self.a.1 - self.a.0 + 1) * (self.b.1 - self.b.0 + 1)
    }
}

/// The levels, easiest first (`--level 1` is `LEVELS[0]`). Level 4 is issue #15's `A × B` with
/// A in 2–9 and B in 10–99.
pub const LEVELS: [Level; 6] = [
    Level { a: (1, 9), b: (1, 9), op: Op::Add },
    Level { a: (10, 99), b: (1, 9), op: Op::Add },
    Level { a: (10, 99), b: (10, 99), op: Op::Add },
    Level { a: (2, 9), b: (10, 99), op: Op::Mul },
    Level { a: (10, 99), b: (10, 99), op: Op::Mul },
    Level { a: (100, 999), b: (100, 999), op: Op::Mul },
];

/// One dataset row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The question, `What is 7 × 46?`.
    pub question: String,
    /// The exact answer.
    pub answer: String,
    /// The level it was drawn from (1-based).
    pub level: usize,
    /// How it was made: `rlvr dataset arithmetic --level L --seed S`.
    pub source: String,
}

/// Draws `train` and `test` distinct questions of level `level` (1-based) from `seed`; the two
/// sets are disjoint. Errors name the level's size when it cannot supply that many.
pub fn generate(level: usize, train: usize, test: usize, seed: u64) -> Result<(Vec<Row>, Vec<Row>), TrainError> {
    let Some(spec) = level.checked_sub(1).and_then(|i| LEVELS.get(i)) else {
        return Err(TrainError::Config(format!("level must be 1–{}, got {level}", LEVELS.len())));
    };
    let size = spec.size();
    if (train as u64).saturating_add(test as u64) > size {
        return Err(TrainError::Config(format!(
            "level {level} has {size} distinct questions; {train} train + {test} test rows do not fit"
        )));
    }
    let mut pairs: Vec<(u64, u64)> =
        (spec.a.0..=spec.a.1).flat_map(|a| (spec.b.0..=spec.b.1).map(move |b| (a, b))).collect();
    Rng::new(seed).shuffle(&mut pairs);
    let source = format!("rlvr dataset arithmetic --level {level} --seed {seed}");
    let row = |&(a, b): &(u64, u64)| {
        let (symbol, value) = match spec.op {
            Op::Add => ("+", a + b),
            Op::Mul => ("×", a * b),
        };
        Row { question: format!("What is {a} {symbol} {b}?"), answer: value.to_string(), level, source: source.clone() }
    };
    let test_rows = pairs[..test].iter().map(row).collect();
    let train_rows = pairs[test..test + train].iter().map(row).collect();
    Ok((train_rows, test_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_disjoint_seeded_and_right() {
        let (train, test) = generate(4, 500, 200, 7).unwrap();
        assert_eq!((train.len(), test.len()), (500, 200));
        let held: std::collections::BTreeSet<&str> = test.iter().map(|r| r.question.as_str()).collect();
        assert!(train.iter().all(|r| !held.contains(r.question.as_str())), "a held-out question was in train");
        assert_eq!(held.len(), 200, "questions are distinct");
        assert_eq!(generate(4, 500, 200, 7).unwrap(), (train.clone(), test.clone()));
        assert_ne!(generate(4, 500, 200, 8).unwrap().1, test);
        for r in train.iter().chain(&test) {
            let (a, rest) = r.question.trim_start_matches("What is ").split_once(" × ").unwrap();
            let (a, b): (u64, u64) = (a.parse().unwrap(), rest.trim_end_matches('?').parse().unwrap());
            assert!((2..=9).contains(&a) && (10..=99).contains(&b), "{}", r.question);
            assert_eq!(r.answer, (a * b).to_string());
        }
        assert_eq!(generate(1, 1, 1, 0).unwrap().0[0].question.split(' ').nth(3), Some("+"));
    }

    #[test]
    fn size_and_level_limits() {
        // Level 1 has 81 questions: all of them fit, one more does not.
        let (train, test) = generate(1, 71, 10, 0).unwrap();
        assert_eq!(train.len() + test.len(), 81);
        assert!(matches!(generate(1, 72, 10, 0), Err(TrainError::Config(m)) if m.contains("81")));
        assert!(generate(6, 1, 1, 0).is_ok());
        assert!(matches!(generate(0, 1, 1, 0), Err(TrainError::Config(_))));
        assert!(matches!(generate(7, 1, 1, 0), Err(TrainError::Config(_))));
    }
}
