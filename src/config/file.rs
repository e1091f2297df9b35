//! Reading a configuration file (`router_config.yaml`, `providers.yaml`, `secrets.env`): only
//! a regular file, and at most [`MAX_CONFIG_BYTES`]. A FIFO would block the reading thread
//! until something writes to it, and `/dev/zero` never ends; both are refused with a clear
//! error before they are opened, and so is a file too large to be a configuration.

use std::io::{self, Read};
use std::path::Path;

/// The largest configuration file read (a 4,000-channel config is well under 2 MiB).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The bytes of the regular file at `path` (a symlink is followed).
pub fn read_bytes(path: &Path) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a configuration file must be one)",
        ));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The text of the regular file at `path`: [`read_bytes`], as UTF-8.
pub fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_bytes(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "larger than {} MiB: not a configuration file",
            MAX_CONFIG_BYTES >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_sensible_size_are_read() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("router_config.yaml");
        std::fs::write(&file, "server: {}\n").expect("write");
        assert_eq!(read_text(&file).ok().as_deref(), Some("server: {}\n"));
        let err = read_bytes(dir.path()).expect_err("a directory");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        #[cfg(unix)]
        {
            let err = read_bytes(Path::new("/dev/zero")).expect_err("a device");
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        let big = std::fs::File::create(dir.path().join("big.yaml")).expect("create");
        big.set_len(MAX_CONFIG_BYTES + 1).expect("grow");
        let err = read_bytes(&dir.path().join("big.yaml")).expect_err("too large");
        assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
        std::fs::write(&file, [0xff, 0xfe]).expect("write");
        assert!(read_text(&file).is_err());
    }
}
