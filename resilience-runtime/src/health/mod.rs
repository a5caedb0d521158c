//! One agent over many calls: lock-free state shared by the calls.

pub mod rate;
