//! The upstream edge: everything about talking to a channel that both the proxy (a call's
//! attempts) and discovery (`/models`) need — the per-thread HTTP client and a channel's auth
//! (`client`), what an upstream failure means (`classify`), SSE framing of upstream streams
//! (`sse`), redaction of secrets from anything an upstream said (`redact`), and the memory
//! budget shared by the answers read whole (`answer_budget`).
//!
//! Layer: an edge. It imports only vocabulary (`config`); it never names the proxy, the
//! server or the runtime.

pub mod answer_budget;
pub mod classify;
pub mod client;
pub mod redact;
pub mod sse;
