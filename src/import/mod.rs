//! Bringing channels over from other gateways' stores into a config directory.
//!
//! Each source reads its store read-only and never writes a key into a YAML file: keys go to
//! the directory's `secrets.env` (0600) and the YAML says `${VAR}`. What is written must load
//! as a complete, valid config directory (providers included).

pub mod one_api;
mod one_api_types;
