//! `mqtt-load`: the MQTT load generator (see `omnibus_tests::loadgen`).
//! Every scenario prints its result as one JSON line on stdout.
//!
//! ```text
//! mqtt-load fan-in  --port 1883 --username U [--qos 1] [--duration 10] [--rate 0] [--publishers 4]
//! mqtt-load fan-out --port 1883 --username U [--qos 1] [--subscribers 100]
//! mqtt-load latency --port 1883 --username U [--rate 5000] [--qos 0]
//! mqtt-load connect-rate --port 1883 --username U [--concurrency 32] [--sources 127.0.0.2,127.0.0.3]
//! mqtt-load connections --port 1883 --username U --count 5000 --source 127.0.0.2
//! ```
//! The password comes from `MQTT_LOAD_PASSWORD` (or `--password`).

use clap::{Parser, Subcommand};
use omnibus_tests::loadgen::{connect_rate, connections, fan, latency};

#[derive(Parser)]
#[command(name = "mqtt-load", about = "MQTT 3.1.1 load generator: one engine for any broker")]
struct Cli {
    /// Runtime worker threads; 1 runs everything on this thread.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Publishers on their own topics -> one subscriber on a wildcard filter.
    FanIn {
        #[command(flatten)]
        load: fan::Load,
        #[arg(long, default_value_t = 4)]
        publishers: usize,
    },
    /// One publisher -> subscribers of its topic.
    FanOut {
        #[command(flatten)]
        load: fan::Load,
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
    },
    /// Publish -> receive latency at a fixed rate.
    Latency(latency::Args),
    /// Connect, CONNACK, DISCONNECT cycles per second.
    ConnectRate(connect_rate::Args),
    /// Hold idle connections, then PINGREQ each (SIGUSR1 starts the round).
    Connections(connections::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(cli.threads).enable_all().build()?
    };
    runtime.block_on(async {
        let result = match cli.scenario {
            Scenario::FanIn { load, publishers } => fan::run(&load, fan::Shape::FanIn { publishers }).await?,
            Scenario::FanOut { load, subscribers } => fan::run(&load, fan::Shape::FanOut { subscribers }).await?,
            Scenario::Latency(args) => latency::run(&args).await?,
            Scenario::ConnectRate(args) => connect_rate::run(&args).await?,
            Scenario::Connections(args) => return connections::run(args).await,
        };
        println!("{result}");
        Ok(())
    })
}
