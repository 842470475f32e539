//! The text `kafka-consumer-groups` prints, as Kafka 2.8's `ConsumerGroupCommand` lays it out:
//! the `--describe` tables (offsets, members, state) with their column widths and `-` for
//! missing values, the state notes, `--list --state`, the reset plan and the delete reports.

use std::collections::BTreeMap;
use std::io::Write;

use crate::client::group_admin::{GroupDescription, Node};

/// A (topic, partition) pair.
pub type Tp = (String, i32);

/// Kafka's placeholder for a missing column value.
pub const MISSING: &str = "-";

/// One row of `--describe --offsets` (Kafka's `PartitionAssignmentState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRow {
    /// Group id.
    pub group: String,
    /// Topic.
    pub topic: Option<String>,
    /// Partition.
    pub partition: Option<i32>,
    /// Committed offset.
    pub offset: Option<i64>,
    /// Log end offset.
    pub log_end: Option<i64>,
    /// Lag (log end − committed).
    pub lag: Option<i64>,
    /// Owning member id.
    pub consumer_id: Option<String>,
    /// Owning member's host.
    pub host: Option<String>,
    /// Owning member's client id.
    pub client_id: Option<String>,
}

/// Kafka's `getLag`: only when both offsets are known (and the committed one is not -1).
pub fn lag(offset: Option<i64>, log_end: Option<i64>) -> Option<i64> {
    offset
        .filter(|o| *o != -1)
        .and_then(|o| log_end.map(|e| e - o))
}

/// Kafka's `collectGroupsOffsets` for one group: first the members that own partitions (most
/// partitions first; each member's partitions by partition number), then committed
/// partitions no member owns.
pub fn offset_rows(
    desc: &GroupDescription,
    committed: &BTreeMap<Tp, i64>,
    log_end: &BTreeMap<Tp, Option<i64>>,
) -> Vec<OffsetRow> {
    let mut members: Vec<_> = desc
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let mut rows = Vec::new();
    let mut assigned: Vec<&Tp> = Vec::new();
    let row = |tp: &Tp, consumer: Option<String>, host: Option<String>, client: Option<String>| {
        let offset = committed.get(tp).copied();
        let end = log_end.get(tp).copied().flatten();
        OffsetRow {
            group: desc.group_id.clone(),
            topic: Some(tp.0.clone()),
            partition: Some(tp.1),
            offset,
            log_end: end,
            lag: lag(offset, end),
            consumer_id: consumer,
            host,
            client_id: client,
        }
    };
    for m in members {
        let mut tps: Vec<&Tp> = m.assignment.iter().collect();
        tps.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        for tp in tps {
            assigned.push(tp);
            rows.push(row(
                tp,
                Some(m.member_id.clone()),
                Some(m.host.clone()),
                Some(m.client_id.clone()),
            ));
        }
    }
    for tp in committed.keys() {
        if !assigned.contains(&tp) {
            rows.push(row(
                tp,
                Some(MISSING.into()),
                Some(MISSING.into()),
                Some(MISSING.into()),
            ));
        }
    }
    rows
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| MISSING.to_string())
}

/// Kafka's `printError`: a blank line, then `Error: <msg>` on stdout.
pub fn print_error(out: &mut dyn Write, msg: &str) {
    let _ = writeln!(out, "\nError: {msg}");
}

/// Kafka's `shouldPrintMemberState`: prints the note for the group's state and says whether
/// its table should follow. `rows` is `None` when the group could not be described.
pub fn should_print(
    group: &str,
    state: Option<&str>,
    rows: Option<usize>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> bool {
    let Some(n) = rows else {
        print_error(
            out,
            &format!("The consumer group '{group}' does not exist."),
        );
        return false;
    };
    match state {
        Some("Dead") => print_error(out, &format!("Consumer group '{group}' does not exist.")),
        Some("Empty") => {
            let _ = writeln!(err, "\nConsumer group '{group}' has no active members.");
        }
        Some("PreparingRebalance") | Some("CompletingRebalance") => {
            let _ = writeln!(err, "\nWarning: Consumer group '{group}' is rebalancing.");
        }
        _ => {}
    }
    state != Some("Dead") && n > 0
}

/// The `--describe --offsets` table of one group.
pub fn print_offsets(rows: &[OffsetRow], out: &mut dyn Write) {
    let (mut g, mut t, mut c, mut h) = (15, 15, 15, 15);
    for r in rows {
        g = g.max(r.group.len());
        t = t.max(opt(&r.topic).len());
        c = c.max(opt(&r.consumer_id).len());
        h = h.max(opt(&r.host).len());
    }
    let _ = writeln!(
        out,
        "\n{:<g$} {:<t$} {:<10} {:<15} {:<15} {:<15} {:<c$} {:<h$} CLIENT-ID",
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<g$} {:<t$} {:<10} {:<15} {:<15} {:<15} {:<c$} {:<h$} {}",
            r.group,
            opt(&r.topic),
            opt(&r.partition),
            opt(&r.offset),
            opt(&r.log_end),
            opt(&r.lag),
            opt(&r.consumer_id),
            opt(&r.host),
            opt(&r.client_id)
        );
    }
}

/// Kafka's verbose assignment column: `topic(p,p), topic2(p)` sorted, `-` when empty.
pub fn assignment_text(tps: &[Tp]) -> String {
    if tps.is_empty() {
        return MISSING.to_string();
    }
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in tps {
        by_topic.entry(t.as_str()).or_default().push(*p);
    }
    let mut parts: Vec<String> = by_topic
        .into_iter()
        .map(|(t, mut ps)| {
            ps.sort_unstable();
            format!(
                "{t}({})",
                ps.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// The `--describe --members [--verbose]` table of one group.
pub fn print_members(desc: &GroupDescription, verbose: bool, out: &mut dyn Write) {
    let (mut g, mut c, mut gi, mut h, mut cl) = (15, 15, 17, 15, 15);
    let mut with_instance = false;
    for m in &desc.members {
        let inst = m.group_instance_id.clone().unwrap_or_default();
        g = g.max(desc.group_id.len());
        c = c.max(m.member_id.len());
        gi = gi.max(inst.len());
        h = h.max(m.host.len());
        cl = cl.max(m.client_id.len());
        with_instance |= !inst.is_empty();
    }
    let mut header = if with_instance {
        format!(
            "\n{:<g$} {:<c$} {:<gi$} {:<h$} {:<cl$} {:<15} ",
            "GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"
        )
    } else {
        format!(
            "\n{:<g$} {:<c$} {:<h$} {:<cl$} {:<15} ",
            "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"
        )
    };
    if verbose {
        header.push_str("ASSIGNMENT");
    }
    let _ = writeln!(out, "{header}");
    for m in &desc.members {
        let inst = m.group_instance_id.clone().unwrap_or_default();
        let mut line = if with_instance {
            format!(
                "{:<g$} {:<c$} {:<gi$} {:<h$} {:<cl$} {:<15} ",
                desc.group_id,
                m.member_id,
                inst,
                m.host,
                m.client_id,
                m.assignment.len()
            )
        } else {
            format!(
                "{:<g$} {:<c$} {:<h$} {:<cl$} {:<15} ",
                desc.group_id,
                m.member_id,
                m.host,
                m.client_id,
                m.assignment.len()
            )
        };
        if verbose {
            line.push_str(&assignment_text(&m.assignment));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The `--describe --state` table of one group (Kafka sizes the GROUP column by the
/// coordinator text, and so do we).
pub fn print_state(desc: &GroupDescription, out: &mut dyn Write) {
    let Node { id, host, port } = &desc.coordinator;
    let coordinator = format!("{host}:{port} ({id})");
    let w = coordinator.len().max(25);
    let _ = write!(
        out,
        "\n{:<w$} {:<25} {:<20} {:<15} #MEMBERS",
        "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE"
    );
    let _ = write!(
        out,
        "\n{:<w$} {:<25} {:<20} {:<15} {}",
        desc.group_id,
        coordinator,
        desc.assignor,
        desc.state,
        desc.members.len()
    );
    let _ = writeln!(out);
}

/// `--list --state`: `GROUP STATE` with the group column at least 15 wide.
pub fn print_group_states(groups: &[(String, String)], out: &mut dyn Write) {
    let w = groups
        .iter()
        .map(|(g, _)| g.len())
        .max()
        .unwrap_or(0)
        .max(15);
    let _ = writeln!(out, "{:<w$} STATE", "GROUP");
    for (g, s) in groups {
        let _ = writeln!(out, "{g:<w$} {s}");
    }
}

/// The reset plan: a header (only when at least one group was handled) and one row per
/// partition.
pub fn print_offsets_to_reset(plan: &BTreeMap<String, BTreeMap<Tp, i64>>, out: &mut dyn Write) {
    if !plan.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<30} {:<30} {:<10} {:<15}",
            "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
        );
    }
    for (group, offsets) in plan {
        for ((t, p), off) in offsets {
            let _ = writeln!(out, "{group:<30} {t:<30} {p:<10} {off:<15}");
        }
    }
}

/// The outcome of `--delete` for the requested groups (in order): `Err` holds the Java
/// exception text.
pub fn print_delete_result(results: &[(String, Result<(), String>)], out: &mut dyn Write) {
    let quote = |names: Vec<&str>| {
        names
            .iter()
            .map(|g| format!("'{g}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ok: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(g, _)| g.as_str())
        .collect();
    let failed: Vec<(&str, &str)> = results
        .iter()
        .filter_map(|(g, r)| r.as_ref().err().map(|e| (g.as_str(), e.as_str())))
        .collect();
    if failed.is_empty() {
        let _ = writeln!(
            out,
            "Deletion of requested consumer groups ({}) was successful.",
            quote(ok)
        );
        return;
    }
    print_error(out, "Deletion of some consumer groups failed:");
    for (g, e) in failed {
        let _ = writeln!(out, "* Group '{g}' could not be deleted due to: {e}");
    }
    if !ok.is_empty() {
        let _ = writeln!(
            out,
            "\nThese consumer groups were deleted successfully: {}",
            quote(ok)
        );
    }
}

/// The `--delete-offsets` partition table: rows sorted like Kafka (by topic then partition
/// text); partition -1 means a topic that could not be described.
pub fn print_delete_offsets(results: &[(Tp, Option<String>)], out: &mut dyn Write) {
    let _ = writeln!(
        out,
        "\n{:<30} {:<15} {:<15}",
        "TOPIC", "PARTITION", "STATUS"
    );
    let mut sorted: Vec<&(Tp, Option<String>)> = results.iter().collect();
    sorted.sort_by_key(|((t, p), _)| format!("{t}{p}"));
    for ((t, p), e) in sorted {
        let part = if *p >= 0 {
            p.to_string()
        } else {
            "Not Provided".to_string()
        };
        let status = match e {
            Some(msg) => format!("Error: {msg}"),
            None => "Successful".to_string(),
        };
        let _ = writeln!(out, "{t:<30} {part:<15} {status:<15}");
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
