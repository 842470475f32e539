//! Usage text and argument-error plumbing shared by `kafka-topics` and `kafka-configs`.
//!
//! Kafka's tools print a two-column "Option / Description" table on stderr whenever the
//! arguments are wrong (and for `--help`), then exit with status 1. Both tools here do the
//! same; clap only tokenizes, it never prints or exits on its own.

use std::fmt::Write as _;

/// One row of the usage table.
pub struct OptionHelp {
    /// The flag, e.g. `--topic`.
    pub flag: &'static str,
    /// Name of its argument, if it takes one.
    pub arg: Option<&'static str>,
    /// What it does (this project's wording).
    pub help: &'static str,
}

/// Width of the option column, as in Kafka's tables.
const OPTION_COLUMN: usize = 41;

/// Render the option table, options sorted by name like Kafka's.
pub fn render_usage(options: &[OptionHelp]) -> String {
    let mut rows: Vec<&OptionHelp> = options.iter().collect();
    rows.sort_by_key(|o| o.flag);
    let mut out = String::new();
    let _ = writeln!(out, "{:<OPTION_COLUMN$}Description", "Option");
    let _ = writeln!(out, "{:<OPTION_COLUMN$}-----------", "------");
    for o in rows {
        let left = match o.arg {
            Some(a) => format!("{} <{}>", o.flag, a),
            None => o.flag.to_string(),
        };
        if left.len() >= OPTION_COLUMN {
            let _ = writeln!(out, "{left}");
            let _ = writeln!(out, "{:<OPTION_COLUMN$}{}", "", o.help);
        } else {
            let _ = writeln!(out, "{left:<OPTION_COLUMN$}{}", o.help);
        }
    }
    out
}

/// What argument handling decided instead of running the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsExit {
    /// Print the message and the usage table on stderr, exit 1 (Kafka's `printUsageAndDie`).
    Usage(String),
    /// Print the message alone on stderr, exit 1 (an exception Kafka lets escape while checking
    /// arguments).
    Fatal(String),
    /// Print the version on stdout, exit 0.
    Version,
}

/// Version `--version` reports (the Kafka release this re-implements).
pub const KAFKA_VERSION: &str = "2.8.2";

/// Turn a clap tokenizing error into Kafka-style wording (joptsimple's messages).
pub fn clap_error_message(err: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let ctx = |kind: ContextKind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    let bare = |s: String| s.trim_start_matches('-').split([' ', '=']).next().unwrap_or_default().to_string();
    match err.kind() {
        ErrorKind::UnknownArgument => match ctx(ContextKind::InvalidArg) {
            Some(a) => format!("{} is not a recognized option", bare(a)),
            None => "unrecognized option".to_string(),
        },
        ErrorKind::InvalidValue | ErrorKind::NoEquals => match ctx(ContextKind::InvalidArg) {
            Some(a) => format!("Option {} requires an argument", bare(a)),
            None => "missing option argument".to_string(),
        },
        ErrorKind::ArgumentConflict => match ctx(ContextKind::InvalidArg) {
            Some(a) => format!("Found multiple arguments for option {}, but you asked for only one", bare(a)),
            None => "option given more than once".to_string(),
        },
        _ => {
            let rendered = err.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_layout() {
        let t = render_usage(&[
            OptionHelp { flag: "--topic", arg: Some("topic"), help: "Topic name." },
            OptionHelp { flag: "--alter", arg: None, help: "Change it." },
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], format!("{:<41}Description", "Option"));
        assert!(lines[2].starts_with("--alter "));
        assert!(lines[3].starts_with("--topic <topic>"));
        assert_eq!(&lines[3][41..], "Topic name.");
    }
}
