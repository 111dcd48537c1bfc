//! Integration tests of the hall console, in one binary so that the workspace links it
//! once. Every test runs its own console on loopback ports.

mod common;
mod config_swap;
mod mosquitto;
mod security;
mod telemetry_flow;
mod tickets;
