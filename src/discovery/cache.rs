//! `cache/channels/<id>.json`: each channel's last discovered model list, so the gateway can
//! serve at once after a restart (docs/config.md, docs/discovery.md).
//!
//! A file holds the models (with the facts derived from their names, for people reading it),
//! the raw upstream entries, when it was fetched, and the channel id, provider and base URL it
//! belongs to. It is written atomically (temp file in the same directory, fsync, rename),
//! created 0600 in a directory created 0700 (unix). On load, a file that does not parse, has
//! another schema version, or was written for another channel id, provider or base URL is
//! ignored with a warning. It never contains a secret: no key, no key fingerprint (a changed
//! key triggers rediscovery through the config, not the cache), and the base URL is stored with
//! its credentials masked (`config::url_without_credentials`: user, password and query values),
//! and compared in that form.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parse::DiscoveredModel;
use crate::catalog::names::analyse;
use crate::catalog::{ChannelModelList, ModelSource};
use crate::config::{url_without_credentials, Channel};

const SCHEMA: u32 = 1;

/// A new file, 0600 on unix (a leftover temp file is replaced).
fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A channel's cached list.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedModels {
    pub list: ChannelModelList,
    pub fetched_at: DateTime<Utc>,
}

/// The cache directory `<server.cache_dir>/channels`.
#[derive(Debug, Clone)]
pub struct ChannelCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    schema: u32,
    channel_id: String,
    provider: String,
    base_url: String,
    fetched_at: DateTime<Utc>,
    source: String,
    models: Vec<CachedModel>,
}

#[derive(Serialize, Deserialize)]
struct CachedModel {
    #[serde(flatten)]
    model: DiscoveredModel,
    /// Derived from the name when written; informative only (recomputed on load).
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    kind: Option<String>,
}

impl ChannelCache {
    /// The cache under `cache_dir` (the `server.cache_dir`).
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join("channels"),
        }
    }

    fn path(&self, channel_id: &str) -> PathBuf {
        self.dir.join(format!("{channel_id}.json"))
    }

    /// Write a channel's list atomically.
    pub fn store(
        &self,
        channel: &Channel,
        list: &ChannelModelList,
        fetched_at: DateTime<Utc>,
    ) -> io::Result<()> {
        crate::usage::logfiles::create_private_dir(&self.dir)?;
        let file = CacheFile {
            schema: SCHEMA,
            channel_id: channel.id.clone(),
            provider: channel.provider.key.clone(),
            base_url: url_without_credentials(&channel.base_url),
            fetched_at,
            source: ModelSource::Api.as_str().into(),
            models: list
                .models
                .iter()
                .map(|m| {
                    let facts = analyse(&m.id);
                    CachedModel {
                        model: m.clone(),
                        tags: facts.tags,
                        kind: Some(facts.kind.as_str().into()),
                    }
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(io::Error::other)?;
        let target = self.path(&channel.id);
        let temp = self
            .dir
            .join(format!(".{}.{}.tmp", channel.id, std::process::id()));
        let written = (|| {
            let mut out = create_private(&temp)?;
            out.write_all(&bytes)?;
            out.sync_all()?;
            std::fs::rename(&temp, &target)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// The cached list for this channel, when a valid file for it exists.
    pub fn load(&self, channel: &Channel) -> Option<CachedModels> {
        let path = self.path(&channel.id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read the discovery cache: {e}; ignored");
                return None;
            }
        };
        let file: CacheFile = match serde_json::from_slice(&bytes) {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(path = %path.display(), "corrupt discovery cache ({e}); ignored");
                return None;
            }
        };
        let why_foreign = if file.schema != SCHEMA {
            Some(format!("schema {} (expected {SCHEMA})", file.schema))
        } else if file.channel_id != channel.id {
            Some(format!("written for channel {:?}", file.channel_id))
        } else if file.provider != channel.provider.key
            || file.base_url != url_without_credentials(&channel.base_url)
        {
            Some(format!(
                "written for {} at {}",
                file.provider, file.base_url
            ))
        } else {
            None
        };
        if let Some(why) = why_foreign {
            tracing::warn!(path = %path.display(), "discovery cache {why}; ignored");
            return None;
        }
        Some(CachedModels {
            list: ChannelModelList {
                models: file.models.into_iter().map(|m| m.model).collect(),
                source: ModelSource::Cache,
            },
            fetched_at: file.fetched_at,
        })
    }

    /// Every enabled channel's valid cached list.
    pub fn load_all<'a>(
        &self,
        channels: impl Iterator<Item = &'a Arc<Channel>>,
    ) -> Vec<(String, CachedModels)> {
        channels
            .filter_map(|c| self.load(c).map(|cached| (c.id.clone(), cached)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AuthStyle, Provider, Secret, WireFormat};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn channel(id: &str, base_url: &str) -> Channel {
        Channel {
            id: id.into(),
            name: id.into(),
            provider: Arc::new(Provider {
                key: "groq".into(),
                name: "Groq".into(),
                base_url: base_url.into(),
                auth: AuthStyle::Bearer,
                models_endpoint: "/models".into(),
                format: WireFormat::Openai,
                is_local: false,
                headers: vec![],
                limits: Default::default(),
                model_limits: vec![],
                responses: false,
            }),
            base_url: base_url.into(),
            api_key: Some(Secret::new("sk-SECRET-123")),
            enabled: true,
            disabled_reason: None,
            tags: vec![],
            model_name: None,
            configured_models: vec![],
            model_aliases: BTreeMap::new(),
            limits: Default::default(),
            model_limits: vec![],
            prepared: Default::default(),
            pricing: None,
            model_pricing: BTreeMap::new(),
            timeout: Duration::from_secs(60),
            daily_budget: None,
            priority: 0,
            currency: "USD".into(),
        }
    }

    fn list() -> ChannelModelList {
        let body = br#"{"data":[{"id":"llama-3.1-8b-instant","context_window":131072},{"id":"qwen/qwen3-32b"}]}"#;
        ChannelModelList {
            models: crate::discovery::parse::parse_model_list(
                crate::discovery::parse::ResponseFormat::OpenAi,
                body,
            )
            .unwrap_or_default(),
            source: ModelSource::Api,
        }
    }

    #[test]
    fn round_trips_without_secrets_or_temp_files() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = ChannelCache::new(dir.path());
        let ch = channel("groq", "https://api.groq.com/openai/v1");
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("date");
        cache.store(&ch, &list(), at).expect("store");
        let loaded = cache.load(&ch).expect("load");
        assert_eq!(loaded.fetched_at, at);
        assert_eq!(loaded.list.source, ModelSource::Cache);
        assert_eq!(loaded.list.models, list().models);
        assert_eq!(loaded.list.models[0].context_tokens, Some(131072));
        let text = std::fs::read_to_string(dir.path().join("channels/groq.json")).expect("file");
        assert!(!text.contains("sk-SECRET-123"));
        assert!(text.contains("\"tags\""));
        let names: Vec<String> = std::fs::read_dir(dir.path().join("channels"))
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, vec!["groq.json"]);
    }

    #[test]
    fn base_url_credentials_never_reach_the_file_which_is_private() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = ChannelCache::new(dir.path());
        let ch = channel(
            "lan",
            "http://admin:hunter2pass@10.0.0.5:8080/v1?key=sk-URLKEY-999",
        );
        cache.store(&ch, &list(), Utc::now()).expect("store");
        let path = dir.path().join("channels/lan.json");
        let text = std::fs::read_to_string(&path).expect("file");
        for secret in ["admin", "hunter2pass", "sk-URLKEY-999"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains(r#""base_url": "http://***@10.0.0.5:8080/v1?key=***""#),
            "{text}"
        );
        assert!(cache.load(&ch).is_some(), "still matches its channel");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| {
                std::fs::metadata(p)
                    .map(|m| m.permissions().mode() & 0o777)
                    .ok()
            };
            assert_eq!(mode(&path), Some(0o600));
            assert_eq!(mode(&dir.path().join("channels")), Some(0o700));
        }
    }

    #[test]
    fn corrupt_foreign_and_missing_files_are_ignored() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = ChannelCache::new(dir.path());
        let ch = channel("groq", "https://api.groq.com/openai/v1");
        assert!(cache.load(&ch).is_none(), "missing");
        cache.store(&ch, &list(), Utc::now()).expect("store");
        let moved = channel("groq", "https://proxy.example.com/v1");
        assert!(cache.load(&moved).is_none(), "another base URL");
        std::fs::copy(
            dir.path().join("channels/groq.json"),
            dir.path().join("channels/other.json"),
        )
        .expect("copy");
        assert!(
            cache
                .load(&channel("other", "https://api.groq.com/openai/v1"))
                .is_none(),
            "another channel id"
        );
        std::fs::write(dir.path().join("channels/groq.json"), b"{not json").expect("write");
        assert!(cache.load(&ch).is_none(), "corrupt");
        std::fs::write(dir.path().join("channels/groq.json"), br#"{"schema":99}"#).expect("write");
        assert!(cache.load(&ch).is_none(), "schema");
    }
}
