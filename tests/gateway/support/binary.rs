//! The real gateway binary as a child process: for what only a process shows (signals, file
//! limits, its memory). Its stderr (JSON log lines) is kept for assertions.
#![allow(dead_code, reason = "each test module uses a part of the harness")]

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncBufReadExt;

/// A running gateway binary.
pub struct GatewayProcess {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:port`
    pub base: String,
    pub addr: String,
    /// Every stderr line so far.
    pub log: Arc<Mutex<Vec<String>>>,
    drain: tokio::task::JoinHandle<()>,
}

impl GatewayProcess {
    /// Start the binary on `config_dir` with `--port 0`; with `open_files`, under that
    /// `RLIMIT_NOFILE` (set by `sh`'s `ulimit -n` before it execs the binary).
    pub async fn start(config_dir: &Path, open_files: Option<u32>) -> Self {
        Self::start_with_env(config_dir, open_files, &[]).await
    }

    /// [`GatewayProcess::start`] with extra environment variables for the gateway.
    pub async fn start_with_env(
        config_dir: &Path,
        open_files: Option<u32>,
        env: &[(&str, &str)],
    ) -> Self {
        let binary = env!("CARGO_BIN_EXE_smart-ai-router");
        let mut command = match open_files {
            Some(limit) => {
                let mut sh = tokio::process::Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(binary);
                sh
            }
            None => tokio::process::Command::new(binary),
        };
        // Not the `SAR_*` variables a config test may have set in this process.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SAR_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().copied());
        let mut child = command
            .arg("--config-dir")
            .arg(config_dir)
            .args(["--port", "0", "--log-format", "json"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the gateway binary");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let listening = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                let event = serde_json::from_str::<Value>(&line).unwrap_or(Value::Null);
                log.lock().expect("log").push(line);
                if event["message"] == "smart-ai-router listening" {
                    return event["local"].as_str().map(str::to_string);
                }
            }
            None
        })
        .await;
        let addr = listening.ok().flatten().unwrap_or_else(|| {
            panic!(
                "the gateway logs its listening address; it said:\n{}",
                log.lock().expect("log").join("\n")
            )
        });
        let kept = log.clone();
        let drain = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().expect("log").push(line);
            }
        });
        Self {
            child,
            base: format!("http://{addr}"),
            addr,
            log,
            drain,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the gateway is running")
    }

    /// Resident memory of the process, KiB (`VmRSS` of /proc/<pid>/status).
    pub fn rss_kib(&self) -> u64 {
        self.status_field("VmRSS:")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// The value of a line of `/proc/<pid>/status` (`name` with its colon), trimmed.
    pub fn status_field(&self, name: &str) -> Option<String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        self.signal("-TERM");
    }

    /// Send SIGKILL: the process stops where it is, as in a crash.
    pub fn kill(&self) {
        self.signal("-KILL");
    }

    fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
    }

    /// Wait for the exit, at most `within`; its status.
    pub async fn exit_within(mut self, within: Duration) -> std::process::ExitStatus {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the gateway did not exit within {within:?}"))
            .expect("wait for the gateway");
        let _ = self.drain.await;
        status
    }

    /// Log lines whose message contains `text`.
    pub fn log_lines_with(&self, text: &str) -> usize {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }
}
