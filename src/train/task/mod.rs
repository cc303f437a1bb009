//! What the trainer trains on: a user's dataset of prompts with gold answers ([`dataset`]) and
//! the built-in CPU demonstration ([`arithmetic`]).

pub mod arithmetic;
pub mod dataset;
