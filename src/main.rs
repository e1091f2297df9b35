//! The `smart-ai-router` command line: parse arguments, call the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use smart_ai_router::app::{self, ServeOptions};
use smart_ai_router::cli::{self, LogFormat};
use smart_ai_router::config::ConfigSource;

/// mimalloc gives memory back to the system once freed (glibc's malloc kept the ~13 KiB of
/// each closed connection: 30 → 56 MB after 2,000 connections came and went; docs/operations.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "smart-ai-router",
    version,
    about = "OpenAI-compatible LLM gateway that routes tag and name queries across channels"
)]
struct Args {
    /// Directory holding providers.yaml and router_config.yaml.
    #[arg(long, global = true, default_value = "config")]
    config_dir: PathBuf,
    /// Listen address (overrides server.host).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Listen port (overrides server.port).
    #[arg(long, global = true)]
    port: Option<u16>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogStyle::Text)]
    log_format: LogStyle,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogStyle {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway (the default).
    Serve,
    /// Validate the configuration and print a summary; exit 1 when it is invalid.
    Check,
    /// List the catalog, or the models a query matches.
    Models {
        /// A query such as `tag:free,qwen3` or `qwen3-235b-a22b`.
        query: Option<String>,
    },
    /// Show how a query would be ranked, with every sub-score.
    Explain {
        /// A query such as `tag:free,qwen3`.
        query: String,
    },
    /// Print today's usage summary from the logs.
    Stats,
    /// Manage usage log files.
    Logs {
        #[command(subcommand)]
        action: LogsAction,
    },
}

#[derive(Subcommand)]
enum LogsAction {
    /// Gzip usage logs older than N days into logs/archive/.
    Archive {
        /// Days of plain logs to keep (today is never archived).
        #[arg(long, default_value_t = 30)]
        days_to_keep: u32,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let source = ConfigSource::new(&args.config_dir);
    let code = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(
            ServeOptions {
                source,
                host: args.host,
                port: args.port,
            },
            args.log_format,
        ),
        Command::Check => cli::check(&source, &mut std::io::stdout(), &mut std::io::stderr()),
        Command::Models { query } => cli::models(
            &source,
            query.as_deref(),
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        ),
        Command::Explain { query } => cli::explain(
            &source,
            &query,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        ),
        Command::Stats => cli::stats(&source, &mut std::io::stdout(), &mut std::io::stderr()),
        Command::Logs {
            action: LogsAction::Archive { days_to_keep },
        } => cli::archive(
            &source,
            days_to_keep,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        ),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn serve(options: ServeOptions, log: LogStyle) -> i32 {
    cli::init_logging(match log {
        LogStyle::Text => LogFormat::Text,
        LogStyle::Json => LogFormat::Json,
    });
    // Background tasks only: requests are served on threads of their own (`server::listen`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        let gateway = match app::start(options).await {
            Ok(gateway) => gateway,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        };
        let stop = gateway.shutdown_token();
        // Install the handlers now, so a signal right after start is a graceful stop too.
        let signals = Signals::install();
        tokio::spawn(async move {
            signals.wait().await;
            tracing::info!("shutting down: finishing in-flight requests");
            stop.cancel();
        });
        gateway.wait().await;
        tracing::info!("stopped");
        0
    })
}

/// SIGINT and SIGTERM.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
            #[cfg(unix)]
            int: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    #[cfg(unix)]
    async fn wait(self) {
        async fn next(signal: Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = next(self.term) => {},
            _ = next(self.int) => {},
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
