//! The kiosk application: the shell around the session core. It reads the configuration,
//! runs the Slint touch UI (or the terminal walk-through), and executes the core's effects
//! on the devices: back office, printer, card reader, camera, voice.

pub mod demo;
pub mod face_port;
pub mod hall_port;
pub mod link;
pub mod lockdown;
pub mod pad;
pub mod sandbox;
pub mod startup;
pub mod summary;
pub mod ui;
