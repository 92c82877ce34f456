//! End-to-end tests: the real `holdfast` binary, real HTTP, real SQLite files and a real PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access;
mod api;
mod audit;
mod cli;
mod common;
mod discover;
mod durability;
mod monitor;
mod offboard;
mod policy;
mod postgres;
mod posture;
mod report;
mod scan;
mod tls;
mod vault;
