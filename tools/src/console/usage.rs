//! Usage errors for the console tools. Kafka's tools print the problem and the option list
//! to stderr and exit with status 1 (not clap's default 2), and print help with status 0.

use clap::{CommandFactory, Parser};

/// Why argument handling stopped the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageExit {
    /// Print the message and usage to stderr, exit 1.
    Error(String),
    /// Print this (help or version) to stdout, exit 0.
    Info(String),
}

impl UsageExit {
    /// Print and return the process exit code.
    pub fn report(&self) -> i32 {
        match self {
            UsageExit::Error(m) => {
                eprintln!("{m}");
                1
            }
            UsageExit::Info(m) => {
                print!("{m}");
                0
            }
        }
    }
}

/// Version string printed by `--version`.
pub const KAFKA_VERSION: &str = "2.8.2 (Commit:kafka-rs)";

/// Parse `args` (without the program name) with clap, mapping clap's outcomes onto
/// Kafka's conventions. `intro` is printed when there are no arguments at all.
pub fn parse_args<P: Parser>(args: &[String], intro: &str) -> Result<P, UsageExit> {
    if args.is_empty() {
        return Err(usage_error::<P>(intro));
    }
    let argv = std::iter::once(P::command().get_name().to_string()).chain(args.iter().cloned());
    P::try_parse_from(argv).map_err(|e| match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            UsageExit::Info(e.to_string())
        }
        _ => UsageExit::Error(e.render().to_string()),
    })
}

/// A usage error with Kafka's layout: the message, then the option help.
pub fn usage_error<P: CommandFactory>(message: &str) -> UsageExit {
    let help = P::command().about(None).render_help().to_string();
    UsageExit::Error(format!("{message}\n{help}"))
}

/// Kafka's message for a missing required option.
pub fn missing_required(option: &str) -> String {
    format!("Missing required argument \"[{option}]\"")
}

/// Check a `host:port[,host:port]` list as Kafka's tools do for `--broker-list`.
pub fn valid_host_ports(list: &str) -> bool {
    let entries: Vec<&str> = list.split(',').map(str::trim).collect();
    !entries.is_empty()
        && entries.iter().all(|e| match e.rsplit_once(':') {
            Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
            None => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        assert!(valid_host_ports("localhost:9092"));
        assert!(valid_host_ports("a:1,b:2"));
        assert!(!valid_host_ports("localhost"));
        assert!(!valid_host_ports("a:1,"));
        assert!(!valid_host_ports(":9092"));
    }
}
