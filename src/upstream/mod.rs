//! The upstream edge: everything about talking to a channel that both the proxy (a call's
//! attempts) and discovery (`/models`) need — the per-thread HTTP client and a channel's auth
//! (`client`), what an upstream failure means (`classify`), SSE framing of upstream streams
//! (`sse`), and redaction of secrets from anything an upstream said (`redact`).
//!
//! Layer: an edge. It imports only vocabulary (`config`); it never names the proxy, the
//! server or the runtime.

pub mod classify;
pub mod client;
pub mod redact;
