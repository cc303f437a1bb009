//! What the trainer trains on: a user's dataset of prompts with gold answers ([`dataset`]),
//! graded arithmetic datasets for pretrained models ([`graded`]) and the built-in CPU
//! demonstration ([`arithmetic`]).

pub mod arithmetic;
pub mod dataset;
pub mod graded;
