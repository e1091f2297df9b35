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

/// Turn transparent huge pages off for the process, before the runtime starts. mimalloc asks
/// for them on its arenas (`MADV_HUGEPAGE`), and a 2 MiB page counts whole in RSS once one byte
/// of it is touched: with them, peak RSS at 64 connections was twice what the gateway uses
/// (63 against 31 MB with the history off, 102–116 against 54–61 MB with it on), and CPU per
/// request did not differ beyond the noise (BENCHMARKS.md §14). If the kernel refuses the
/// call, the process runs as before.
fn small_pages_only() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

#[derive(Parser)]
#[command(
    name = "smart-ai-router",
    version,
    about = "OpenAI-compatible LLM gateway that routes tag and name queries across channels"
)]
struct Args {
    /// Options of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The config directory; every subcommand that reads a config takes it (before or after the
/// subcommand name).
#[derive(clap::Args, Clone, Default)]
struct ConfigDir {
    /// Directory holding providers.yaml and router_config.yaml [default: config].
    #[arg(long)]
    config_dir: Option<PathBuf>,
}

#[derive(clap::Args, Clone, Default)]
struct ServeArgs {
    #[command(flatten)]
    dir: ConfigDir,
    /// Listen address (overrides server.host).
    #[arg(long)]
    host: Option<String>,
    /// Listen port (overrides server.port).
    #[arg(long)]
    port: Option<u16>,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogStyle::Text)]
    log_format: LogStyle,
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum LogStyle {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway (the default).
    Serve(ServeArgs),
    /// Validate the configuration and print a summary; exit 1 when it is invalid.
    Check(ConfigDir),
    /// List the catalog, or the models a query matches.
    Models {
        #[command(flatten)]
        dir: ConfigDir,
        /// A query such as `tag:free,qwen3` or `qwen3-235b-a22b`.
        query: Option<String>,
    },
    /// Show how a query would be ranked, with every sub-score.
    Explain {
        #[command(flatten)]
        dir: ConfigDir,
        /// A query such as `tag:free,qwen3`.
        query: String,
    },
    /// Print a usage summary from the logs (today, a given day, or the last N days).
    Stats {
        #[command(flatten)]
        dir: ConfigDir,
        /// The UTC day to report, YYYY-MM-DD (default: today).
        #[arg(long, conflicts_with = "days")]
        date: Option<String>,
        /// Report the last N days up to today instead of one day.
        #[arg(long)]
        days: Option<u32>,
    },
    /// Manage usage log files.
    Logs {
        #[command(subcommand)]
        action: LogsAction,
    },
    /// Convert the original (Python) router's config directory into this gateway's format.
    Migrate {
        /// The original's config directory (with its router_config.yaml).
        #[arg(long)]
        from: PathBuf,
        /// Where to write the new providers.yaml, router_config.yaml and secrets.env.
        #[arg(long)]
        to: PathBuf,
    },
    /// Bring channels over from another gateway's database.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
}

#[derive(Subcommand)]
enum ImportSource {
    /// Channels of a One-API or New-API SQLite database (its `channels` table).
    #[command(name = "one-api")]
    OneApi {
        /// The SQLite database file (one-api.db).
        #[arg(long)]
        db: PathBuf,
        #[command(flatten)]
        dir: ConfigDir,
    },
}

#[derive(Subcommand)]
enum LogsAction {
    /// Gzip usage logs older than N days into logs/archive/.
    Archive {
        #[command(flatten)]
        dir: ConfigDir,
        /// Days of plain logs to keep (today is never archived).
        #[arg(long, default_value_t = 30)]
        days_to_keep: u32,
    },
}

fn main() -> ExitCode {
    small_pages_only();
    let args = Args::parse();
    // `--config-dir` may come before the subcommand (the top-level option) or after it.
    let top_dir = args.serve.dir.config_dir.clone();
    let source = |dir: ConfigDir| {
        ConfigSource::new(
            dir.config_dir
                .or_else(|| top_dir.clone())
                .unwrap_or_else(|| PathBuf::from("config")),
        )
    };
    let (out, err) = (&mut std::io::stdout(), &mut std::io::stderr());
    let code = match args.command {
        None => serve_with(args.serve.clone(), source(args.serve.dir)),
        Some(Command::Serve(serve)) => {
            let dir = serve.dir.clone();
            serve_with(serve, source(dir))
        }
        Some(Command::Check(dir)) => cli::check(&source(dir), out, err),
        Some(Command::Models { dir, query }) => {
            cli::models(&source(dir), query.as_deref(), out, err)
        }
        Some(Command::Explain { dir, query }) => cli::explain(&source(dir), &query, out, err),
        Some(Command::Stats { dir, date, days }) => {
            cli::stats(&source(dir), date.as_deref(), days, out, err)
        }
        Some(Command::Logs {
            action: LogsAction::Archive { dir, days_to_keep },
        }) => cli::archive(&source(dir), days_to_keep, out, err),
        Some(Command::Migrate { from, to }) => cli::migrate(&from, &to, out, err),
        Some(Command::Import {
            source: ImportSource::OneApi { db, dir },
        }) => cli::import_one_api(&db, &source(dir), out, err),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn serve_with(args: ServeArgs, source: ConfigSource) -> i32 {
    serve(
        ServeOptions {
            source,
            host: args.host,
            port: args.port,
        },
        args.log_format,
    )
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
