//! Model discovery: fetch each channel's model list, parse it, cache it (SPEC §3, §11).

pub mod parse;
