//! Configuration errors: what was wrong, in which file, at which key and line.
//!
//! One error type for loading and validation; the CLI prints them one per line and `/health`
//! shows them after a rejected reload. Messages never carry a secret value.

use std::fmt;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (as given on the command line / config dir) or `environment`.
    pub file: String,
    /// Dotted key path such as `channels[2].id`; empty when the problem is the whole file.
    pub key_path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &str, key_path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            key_path: key_path.into(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key_path.is_empty() {
            write!(f, ": {}", self.key_path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}
