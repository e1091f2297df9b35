//! A real PostgreSQL server for a test: `initdb` into a temp dir, `postgres` on a free loopback
//! port with its socket in that dir, one database, stopped on drop. The binaries are found on
//! `PATH` or under `/usr/lib/postgresql/*/bin` (where Debian puts them); the test fails when
//! they are missing (`.ci/run` installs Debian's `postgresql`).
//!
//! PostgreSQL refuses to run as root: when this process is root, the server runs as `nobody`
//! (through `setpriv`, which execs without a fork, so the child is `postgres` itself) and owns
//! its temp dir. Connections over TCP need the password ([`PostgresServer::PASSWORD`]), so a
//! test can check that it never shows; the socket trusts (for `createdb`).
#![allow(
    dead_code,
    reason = "each test module uses a different part of the harness"
)]

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running PostgreSQL server, stopped on drop.
pub struct PostgresServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    child: Option<Child>,
}

const USER: &str = "sar";
const DATABASE: &str = "sar_history";

impl PostgresServer {
    /// The password of the test user (scram-sha-256 over TCP).
    pub const PASSWORD: &'static str = "pg-Secret-7f3c9a-never-shown";

    /// `initdb`, start, create the database.
    pub fn start() -> Self {
        let bin = binaries();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // As root the server runs as `nobody`, who must reach the dir: /tmp, whatever TMPDIR says.
        let dir = if running_as_root() {
            tempfile::tempdir_in("/tmp")
        } else {
            tempfile::tempdir()
        }
        .expect("postgres dir");
        let mut server = Self {
            port,
            dir,
            bin,
            child: None,
        };
        server.init();
        server.restart();
        server.create_database();
        server
    }

    /// `postgres://sar:PASSWORD@127.0.0.1:PORT/sar_history`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{DATABASE}",
            Self::PASSWORD,
            self.port
        )
    }

    /// The URL of another role of the same database.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn init(&self) {
        let password_file = self.dir.path().join("password");
        std::fs::write(&password_file, Self::PASSWORD).expect("write the password file");
        hand_to_server_user(self.dir.path());
        hand_to_server_user(&password_file);
        let output = self
            .as_server_user("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", USER, "-E", "UTF8", "--locale=C.UTF-8"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Start (again) on the same port and data, and wait until it accepts connections.
    pub fn restart(&mut self) {
        let child = self
            .as_server_user("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.ready() {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the server (fast shutdown: open connections are cut) and wait for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", USER, "-q"])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn create_database(&self) {
        let output = Command::new(self.bin.join("createdb"))
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", USER, DATABASE])
            .output()
            .expect("run createdb");
        assert!(
            output.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Run one SQL statement through the socket with `psql`; its unaligned output.
    pub fn sql(&self, statement: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-U", USER, "-d", DATABASE])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement])
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// `tool` of the server's bin dir, run as the server's user.
    fn as_server_user(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if !running_as_root() {
            return Command::new(program);
        }
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(program);
        command
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory holding `initdb`, `postgres` and `pg_ctl`: `PATH` first, then Debian's
/// `/usr/lib/postgresql/<version>/bin` (the newest). Panics with what to install.
pub fn binaries() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort_by_key(|p| version_of(p));
    debian.reverse();
    on_path
        .into_iter()
        .chain(debian)
        .find(|dir| has_server_tools(dir))
        .map(|dir| resolved(&dir))
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL is not installed: initdb, pg_ctl and postgres were found neither on \
                 PATH nor under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
            )
        })
}

fn has_server_tools(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|tool| dir.join(tool).is_file())
}

/// The real bin dir when `dir/postgres` is a link (e.g. /usr/local/bin → Debian's dir), so the
/// other tools (`pg_isready`, `createdb`) are found beside it.
fn resolved(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir.join("postgres"))
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|real| real.join("pg_isready").is_file())
        .unwrap_or_else(|| dir.to_path_buf())
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(|v| v.file_name())
        .and_then(|v| v.to_str())
        .and_then(|v| v.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// When root: give `path` to `nobody`, the user the server runs as.
fn hand_to_server_user(path: &Path) {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).expect("chown to nobody");
    }
}
