//! The `lanes` binary: parses arguments, sets up logging, and hands over to the launcher.

use std::io::IsTerminal;

use clap::Parser;
use lanes_sequencer::{
    bench,
    cli::{Cli, Command, LogFormat},
    launch, statetest,
};
use tracing_subscriber::EnvFilter;

fn init_tracing(format: LogFormat) {
    // libmdbx logs every environment open at INFO; keep it to warnings unless asked.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,libmdbx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    // Before any thread starts: blocks free tens of megabytes that the next block needs again,
    // and the executor's threads must not start a block sorting what others freed of theirs.
    lanes_conflict::memory::configure_allocator();
    match cli.command {
        Command::Node(args) => {
            let config = match args.resolve() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            };
            init_tracing(config.log_format);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("lanes-rt")
                .build()?;
            runtime.block_on(launch::run_node(config))
        }
        Command::Bench(args) => bench::run(&args),
        Command::Statetest(args) => {
            init_tracing(LogFormat::Text);
            statetest::run(&args)
        }
        Command::Prove(args) => {
            init_tracing(LogFormat::Text);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(launch::run_prover(args))
        }
    }
}
