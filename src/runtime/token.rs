//! The generated API token file: with `auth.enabled` and no `api_token`, a token `sar-` + 32
//! url-safe characters is generated once, saved to `<cache_dir>/api_token` (mode 0600) and
//! printed on the start that created it; later starts read it back. The snapshot writer keeps
//! it in the snapshot, where access control reads it.

use std::io::Write;
use std::path::Path;

use rand::distr::{Alphanumeric, SampleString};

use crate::config::Secret;

/// Load the generated API token from `<cache_dir>/api_token`, or create it (mode 0600).
/// Returns the token and whether it was created now.
pub fn load_or_generate_token(cache_dir: &Path) -> std::io::Result<(Secret, bool)> {
    let path = cache_dir.join("api_token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = text.trim();
        if token.starts_with("sar-") && token.len() >= 20 {
            return Ok((Secret::new(token), false));
        }
    }
    std::fs::create_dir_all(cache_dir)?;
    let token = format!("sar-{}", Alphanumeric.sample_string(&mut rand::rng(), 32));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok((Secret::new(token), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_persisted_privately_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let (first, created) = load_or_generate_token(dir.path()).expect("generate");
        assert!(created);
        assert!(first.expose().starts_with("sar-"));
        assert_eq!(first.expose().len(), 36);
        let (again, created) = load_or_generate_token(dir.path()).expect("load");
        assert!(!created);
        assert_eq!(again, first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("api_token"))
                .map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode.ok(), Some(0o600));
        }
    }
}
