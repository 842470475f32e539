//! `--reset-offsets` planning, kept pure: the reset scenarios turned into new offsets from
//! the offsets the command fetched (committed, log start, log end, by timestamp), the
//! `--to-datetime`/`--by-duration` parsers (Kafka's `Utils.getDateTime` and
//! `java.time.Duration.parse`), `--topic t:0,1` scopes, and the `--from-file`/`--export` CSV.

use std::collections::BTreeMap;

use regex::Regex;

/// A (topic, partition) pair.
pub type Tp = (String, i32);

/// Why a plan cannot be made; each maps to how Kafka reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Kafka's `printUsageAndDie` (usage on stderr, exit 1).
    #[error("{0}")]
    Usage(String),
    /// Kafka's `printError("Executing consumer group command failed due to ...")`.
    #[error("{0}")]
    Failed(String),
}

/// The offsets a plan may need, fetched by the command.
#[derive(Debug, Clone, Default)]
pub struct OffsetData {
    /// The group's committed offsets.
    pub committed: BTreeMap<Tp, i64>,
    /// Log start offsets.
    pub log_start: BTreeMap<Tp, i64>,
    /// Log end offsets.
    pub log_end: BTreeMap<Tp, i64>,
    /// Offsets found for a timestamp (`None`: no record at or after it).
    pub by_time: BTreeMap<Tp, Option<i64>>,
}

/// A resolved reset scenario (times already turned into epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    /// `--to-offset`.
    ToOffset(i64),
    /// `--to-earliest`.
    ToEarliest,
    /// `--to-latest`.
    ToLatest,
    /// `--to-current`.
    ToCurrent,
    /// `--shift-by`.
    ShiftBy(i64),
    /// `--to-datetime` / `--by-duration`: first offset at or after the time.
    ToTimestamp(i64),
    /// `--from-file`: this group's requested offsets.
    Requested(BTreeMap<Tp, i64>),
}

fn tp_name(tp: &Tp) -> String {
    format!("{}-{}", tp.0, tp.1)
}

/// Kafka's `checkOffsetsRange`: an offset above the log end becomes the log end, one below the
/// log start becomes the log start, each with a warning.
pub fn clamp(
    tp: &Tp,
    offset: i64,
    data: &OffsetData,
    warnings: &mut Vec<String>,
) -> Result<i64, PlanError> {
    let Some(&end) = data.log_end.get(tp) else {
        return Err(PlanError::Failed(format!(
            "Unexpected non-existing offset value for topic partition {}",
            tp_name(tp)
        )));
    };
    if offset > end {
        warnings.push(format!(
            "New offset ({offset}) is higher than latest offset for topic partition {}. Value will be set to {end}",
            tp_name(tp)
        ));
        return Ok(end);
    }
    if let Some(&start) = data.log_start.get(tp) {
        if offset < start {
            warnings.push(format!(
                "New offset ({offset}) is lower than earliest offset for topic partition {}. Value will be set to {start}",
                tp_name(tp)
            ));
            return Ok(start);
        }
    }
    Ok(offset)
}

/// Kafka's `prepareOffsetsToReset` for one group: new offsets for `partitions` and the warnings
/// to log.
pub fn prepare(
    scenario: &Scenario,
    partitions: &[Tp],
    data: &OffsetData,
) -> Result<(BTreeMap<Tp, i64>, Vec<String>), PlanError> {
    let mut warnings = Vec::new();
    let mut out = BTreeMap::new();
    match scenario {
        Scenario::ToOffset(n) => {
            for tp in partitions {
                out.insert(tp.clone(), clamp(tp, *n, data, &mut warnings)?);
            }
        }
        Scenario::ToEarliest => {
            for tp in partitions {
                let off = data.log_start.get(tp).ok_or_else(|| {
                    PlanError::Usage(format!(
                        "Error getting starting offset of topic partition: {}",
                        tp_name(tp)
                    ))
                })?;
                out.insert(tp.clone(), *off);
            }
        }
        Scenario::ToLatest => {
            for tp in partitions {
                let off = data.log_end.get(tp).ok_or_else(|| {
                    PlanError::Usage(format!(
                        "Error getting ending offset of topic partition: {}",
                        tp_name(tp)
                    ))
                })?;
                out.insert(tp.clone(), *off);
            }
        }
        Scenario::ShiftBy(n) => {
            for tp in partitions {
                let current = data.committed.get(tp).ok_or_else(|| {
                    PlanError::Usage(format!(
                        "Cannot shift offset for partition {} since there is no current committed offset",
                        tp_name(tp)
                    ))
                })?;
                out.insert(
                    tp.clone(),
                    clamp(tp, current.saturating_add(*n), data, &mut warnings)?,
                );
            }
        }
        Scenario::ToTimestamp(_) => {
            for tp in partitions {
                let off = match data.by_time.get(tp) {
                    Some(Some(o)) => Some(*o),
                    // No record at or after the time: the log end, as Kafka falls back to.
                    Some(None) => data.log_end.get(tp).copied(),
                    None => None,
                };
                let off = off.ok_or_else(|| {
                    PlanError::Usage(format!(
                        "Error getting offset by timestamp of topic partition: {}",
                        tp_name(tp)
                    ))
                })?;
                out.insert(tp.clone(), off);
            }
        }
        Scenario::Requested(requested) => {
            for (tp, off) in requested {
                out.insert(tp.clone(), clamp(tp, *off, data, &mut warnings)?);
            }
        }
        Scenario::ToCurrent => {
            for tp in partitions {
                let off = match data.committed.get(tp) {
                    Some(o) => *o,
                    None => *data.log_end.get(tp).ok_or_else(|| {
                        PlanError::Usage(format!(
                            "Error getting ending offset of topic partition: {}",
                            tp_name(tp)
                        ))
                    })?,
                };
                out.insert(tp.clone(), off);
            }
        }
    }
    Ok((out, warnings))
}

/// A `--topic` value: `t` (all partitions, looked up) or `t:0,1,2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicArg {
    /// Every partition of the topic.
    Whole(String),
    /// The listed partitions.
    Partitions(String, Vec<i32>),
}

/// Parse one `--topic` value as Kafka does (`split(":")`, partitions `split(",")`).
pub fn parse_topic_arg(arg: &str) -> Result<TopicArg, PlanError> {
    match arg.split_once(':') {
        None => Ok(TopicArg::Whole(arg.to_string())),
        Some((topic, parts)) => {
            let mut ps = Vec::new();
            for p in parts.split(',') {
                let n = p
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| PlanError::Failed(format!("For input string: \"{p}\"")))?;
                ps.push(n);
            }
            Ok(TopicArg::Partitions(topic.to_string(), ps))
        }
    }
}

fn civil_days(y: i64, m: i64, d: i64) -> i64 {
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Kafka's `Utils.getDateTime`: `yyyy-MM-dd'T'HH:mm:ss.SSS` with an optional zone (`Z`,
/// `+hh`, `+hhmm`, `+hh:mm`); without a zone the time is UTC. Returns epoch milliseconds.
pub fn parse_datetime(text: &str) -> Result<i64, String> {
    if text.split('T').count() < 2 {
        return Err(
            "Error parsing timestamp. It does not contain a 'T' according to ISO8601 format"
                .to_string(),
        );
    }
    let unparseable = || format!("Unparseable date: \"{text}\"");
    let re = Regex::new(
        r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(Z|[+-]\d{2}(?::?\d{2})?)?$",
    )
    .map_err(|e| e.to_string())?;
    let c = re.captures(text).ok_or_else(unparseable)?;
    let num = |i: usize| {
        c.get(i)
            .map(|m| m.as_str().parse::<i64>().unwrap_or(0))
            .unwrap_or(0)
    };
    let (y, mo, d, h, mi, s, ms) = (num(1), num(2), num(3), num(4), num(5), num(6), num(7));
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return Err(unparseable());
    }
    let offset_min = match c.get(8).map(|m| m.as_str()) {
        None | Some("Z") => 0,
        Some(z) => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let hh: i64 = digits[..2].parse().unwrap_or(0);
            let mm: i64 = if digits.len() >= 4 {
                digits[2..4].parse().unwrap_or(0)
            } else {
                0
            };
            if hh > 23 || mm > 59 {
                return Err(unparseable());
            }
            sign * (hh * 60 + mm)
        }
    };
    let secs = civil_days(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
    Ok(secs * 1000 + ms)
}

/// `java.time.Duration.parse` for `PnDTnHnMnS` (signs, fractional seconds, either case).
/// Returns milliseconds; errors carry the Java exception's message, which Kafka prints.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let err = || "Text cannot be parsed to a Duration".to_string();
    let re = Regex::new(
        r"^(?i)([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$",
    )
    .map_err(|e| e.to_string())?;
    let c = re.captures(text).ok_or_else(err)?;
    let has = |i: usize| c.get(i).is_some();
    if !has(2) && !has(3) {
        return Err(err());
    }
    if has(3) && !has(4) && !has(5) && !has(6) {
        return Err(err());
    }
    let num = |i: usize| -> Result<i64, String> {
        match c.get(i) {
            None => Ok(0),
            Some(m) => m.as_str().parse::<i64>().map_err(|_| err()),
        }
    };
    let secs_text = c.get(6).map(|m| m.as_str()).unwrap_or("0");
    let negative_secs = secs_text.starts_with('-');
    let mut frac_ms: i64 = match c.get(7) {
        Some(f) => {
            let mut s = f.as_str().to_string();
            s.push_str("000");
            s[..3].parse::<i64>().unwrap_or(0)
        }
        None => 0,
    };
    if negative_secs {
        frac_ms = -frac_ms;
    }
    let (days, hours, minutes, seconds) = (num(2)?, num(4)?, num(5)?, num(6)?);
    let total = days
        .checked_mul(86_400_000)
        .and_then(|d| d.checked_add(hours.checked_mul(3_600_000)?))
        .and_then(|d| d.checked_add(minutes.checked_mul(60_000)?))
        .and_then(|d| d.checked_add(seconds.checked_mul(1000)?))
        .and_then(|d| d.checked_add(frac_ms))
        .ok_or_else(err)?;
    Ok(if c.get(1).map(|m| m.as_str()) == Some("-") {
        -total
    } else {
        total
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// Kafka's `--export` CSV: `topic,partition,offset` lines for a single `--group`, else
/// `group,topic,partition,offset`; each line ends with a newline.
pub fn export_csv(plan: &BTreeMap<String, BTreeMap<Tp, i64>>, single_group: bool) -> String {
    let mut out = String::new();
    for (group, offsets) in plan {
        for ((t, p), off) in offsets {
            if single_group {
                out.push_str(&format!("{},{p},{off}\n", csv_field(t)));
            } else {
                out.push_str(&format!(
                    "{},{},{p},{off}\n",
                    csv_field(group),
                    csv_field(t)
                ));
            }
        }
    }
    out
}

/// Kafka's `parseResetPlan`: with a single `--group` and a first line of three fields, every
/// line is `topic,partition,offset` for that group; otherwise `group,topic,partition,offset`.
pub fn parse_reset_plan(
    csv: &str,
    groups: &[String],
) -> Result<BTreeMap<String, BTreeMap<Tp, i64>>, PlanError> {
    let lines: Vec<&str> = csv
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let parse3 = |f: &[String]| -> Option<(String, i32, i64)> {
        if f.len() != 3 {
            return None;
        }
        Some((
            f[0].clone(),
            f[1].trim().parse().ok()?,
            f[2].trim().parse().ok()?,
        ))
    };
    let single = groups.len() == 1;
    let old_format = single
        && lines
            .first()
            .map(|l| parse3(&split_csv_line(l)).is_some())
            .unwrap_or(false);
    let mut plan: BTreeMap<String, BTreeMap<Tp, i64>> = BTreeMap::new();
    for line in lines {
        let f = split_csv_line(line);
        let bad = || PlanError::Failed(format!("Cannot parse reset plan line '{line}'"));
        if old_format {
            let (t, p, o) = parse3(&f).ok_or_else(bad)?;
            plan.entry(groups[0].clone()).or_default().insert((t, p), o);
        } else {
            if f.len() != 4 {
                return Err(bad());
            }
            let p: i32 = f[2].trim().parse().map_err(|_| bad())?;
            let o: i64 = f[3].trim().parse().map_err(|_| bad())?;
            plan.entry(f[0].clone())
                .or_default()
                .insert((f[1].clone(), p), o);
        }
    }
    Ok(plan)
}

#[cfg(test)]
#[path = "reset_tests.rs"]
mod tests;
