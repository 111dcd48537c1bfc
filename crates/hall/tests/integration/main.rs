//! Integration tests of the hall console, in one binary so that the workspace links it
//! once. Every test runs its own console on loopback ports.

mod browser;
mod common;
mod config_swap;
mod mosquitto;
mod postgres;
mod security;
mod telemetry_flow;
mod tickets;
