//! Stderr messages in the layout of Kafka's tools logging (`[date] LEVEL message (logger)`),
//! so the console tools' warnings and errors look like the real ones to people and
//! scripts reading them.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Log level names as log4j prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something went wrong but the tool continues.
    Warn,
    /// An operation failed.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// Write one log line to stderr: `[yyyy-MM-dd HH:mm:ss,SSS] LEVEL message (logger)`.
pub fn log(level: Level, message: &str, logger: &str) {
    let line = format!("[{}] {} {} ({})\n", timestamp_now(), level.as_str(), message, logger);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

/// Current time formatted like log4j's default `%d` (UTC).
pub fn timestamp_now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    format_timestamp(ms)
}

/// Format epoch milliseconds as `yyyy-MM-dd HH:mm:ss,SSS` in UTC.
pub fn format_timestamp(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let millis = epoch_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02},{millis:03}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00,000");
        assert_eq!(format_timestamp(1_614_556_800_123), "2021-03-01 00:00:00,123");
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29 00:00:00,000");
    }
}
