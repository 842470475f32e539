//! The actions of `kafka-consumer-groups` against a cluster, following Kafka 2.8's
//! `ConsumerGroupService`: what is fetched for each action and how each outcome is reported.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use wire::ResponseError;

use super::args::{DescribeView, GroupOptions, ResetOptions, ResetSpec};
use super::output::{self, print_error};
use super::reset::{self, OffsetData, PlanError, Scenario, TopicArg, Tp};
use crate::client::error::ClientToolError;
use crate::client::group_admin::GroupAdmin;
use crate::client::log::{log, Level};

/// Logger name of Kafka's tool, for its warnings.
const LOGGER: &str = "kafka.admin.ConsumerGroupCommand$";

/// How a run ended badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Kafka's `printUsageAndDie`: message and usage on stderr, exit 1.
    #[error("{0}")]
    Usage(String),
    /// Kafka's catch-all: `Error: Executing consumer group command failed due to <msg>` on
    /// stdout; Kafka still exits 0.
    #[error("{0}")]
    Failed(String),
}

impl From<ClientToolError> for CommandError {
    fn from(e: ClientToolError) -> Self {
        CommandError::Failed(exception_text(&e))
    }
}

impl From<PlanError> for CommandError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Usage(m) => CommandError::Usage(m),
            PlanError::Failed(m) => CommandError::Failed(m),
        }
    }
}

/// The Java exception class Kafka's clients raise for an error code, and its message.
fn exception_parts(e: ResponseError) -> (&'static str, &'static str) {
    match e {
        ResponseError::NonEmptyGroup => ("GroupNotEmptyException", "The group is not empty."),
        ResponseError::GroupIdNotFound => ("GroupIdNotFoundException", "The group id does not exist."),
        ResponseError::CoordinatorNotAvailable => ("CoordinatorNotAvailableException", "The coordinator is not available."),
        ResponseError::NotCoordinator => ("NotCoordinatorException", "This is not the correct coordinator."),
        ResponseError::CoordinatorLoadInProgress => {
            ("CoordinatorLoadInProgressException", "The coordinator is loading and hence can't process requests.")
        }
        ResponseError::InvalidGroupId => ("InvalidGroupIdException", "The configured groupId is invalid."),
        ResponseError::GroupAuthorizationFailed => ("GroupAuthorizationException", "Group authorization failed."),
        ResponseError::TopicAuthorizationFailed => ("TopicAuthorizationException", "Topic authorization failed."),
        ResponseError::GroupSubscribedToTopic => (
            "GroupSubscribedToTopicException",
            "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.",
        ),
        ResponseError::UnknownTopicOrPartition => {
            ("UnknownTopicOrPartitionException", "This server does not host this topic-partition.")
        }
        ResponseError::UnknownMemberId => ("UnknownMemberIdException", "The coordinator is not aware of this member."),
        ResponseError::IllegalGeneration => ("IllegalGenerationException", "Specified group generation id is not valid."),
        ResponseError::RebalanceInProgress => {
            ("RebalanceInProgressException", "The group is rebalancing, so a rejoin is needed.")
        }
        ResponseError::OffsetMetadataTooLarge => {
            ("OffsetMetadataTooLargeException", "The metadata field of the offset request was too large.")
        }
        ResponseError::UnsupportedVersion => ("UnsupportedVersionException", "The version of API is not supported."),
        _ => ("ApiException", ""),
    }
}

/// The message of the exception for an error code (Kafka's `Errors` default message).
pub fn error_message(e: ResponseError) -> String {
    match exception_parts(e) {
        (_, "") => crate::client::error::error_name(e),
        (_, m) => m.to_string(),
    }
}

/// `org.apache.kafka.common.errors.<Class>: <message>` for a client failure.
pub fn exception_text(e: &ClientToolError) -> String {
    match e {
        ClientToolError::Kafka(k) => {
            format!(
                "org.apache.kafka.common.errors.{}: {}",
                exception_parts(*k).0,
                error_message(*k)
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
#[test]
fn exception_texts() {
    assert_eq!(
        exception_text(&ClientToolError::Kafka(ResponseError::NonEmptyGroup)),
        "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty."
    );
    assert_eq!(
        error_message(ResponseError::GroupIdNotFound),
        "The group id does not exist."
    );
    assert_eq!(
        error_message(ResponseError::InvalidTopicException),
        "INVALID_TOPIC_EXCEPTION"
    );
}

/// The groups an action applies to: `--all-groups` lists them, else the `--group` values.
async fn target_groups(
    admin: &mut GroupAdmin,
    opts: &GroupOptions,
) -> Result<Vec<String>, CommandError> {
    if opts.all_groups {
        Ok(admin
            .list_groups(&[])
            .await?
            .into_iter()
            .map(|g| g.group_id)
            .collect())
    } else {
        Ok(opts.groups.clone())
    }
}

/// `--list`.
pub async fn list(
    admin: &mut GroupAdmin,
    states: &Option<Vec<String>>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    match states {
        None => {
            for g in admin.list_groups(&[]).await? {
                let _ = writeln!(out, "{}", g.group_id);
            }
        }
        Some(filter) => {
            let groups = admin.list_groups(filter).await?;
            let rows: Vec<(String, String)> =
                groups.into_iter().map(|g| (g.group_id, g.state)).collect();
            output::print_group_states(&rows, out);
        }
    }
    Ok(())
}

/// `--describe` in one of its views; groups in name order as Kafka's TreeMap.
pub async fn describe(
    admin: &mut GroupAdmin,
    opts: &GroupOptions,
    view: DescribeView,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut groups = target_groups(admin, opts).await?;
    groups.sort();
    groups.dedup();
    for group in groups {
        let desc = admin.describe_group(&group).await?;
        match view {
            DescribeView::Offsets => {
                let committed = admin.fetch_offsets(&group).await?;
                let mut tps: Vec<Tp> = desc
                    .members
                    .iter()
                    .flat_map(|m| m.assignment.iter().cloned())
                    .collect();
                tps.extend(committed.keys().cloned());
                tps.sort();
                tps.dedup();
                let ends = if tps.is_empty() {
                    BTreeMap::new()
                } else {
                    admin.list_offsets(&tps, -1).await?
                };
                let rows = output::offset_rows(&desc, &committed, &ends);
                if output::should_print(&group, Some(&desc.state), Some(rows.len()), out, err) {
                    output::print_offsets(&rows, out);
                }
            }
            DescribeView::Members { verbose } => {
                if output::should_print(
                    &group,
                    Some(&desc.state),
                    Some(desc.members.len()),
                    out,
                    err,
                ) {
                    output::print_members(&desc, verbose, out);
                }
            }
            DescribeView::State => {
                if output::should_print(&group, Some(&desc.state), Some(1), out, err) {
                    output::print_state(&desc, out);
                }
            }
        }
    }
    Ok(())
}

/// `--delete`.
pub async fn delete(
    admin: &mut GroupAdmin,
    opts: &GroupOptions,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let groups = target_groups(admin, opts).await?;
    let mut results = Vec::new();
    for g in groups {
        let r = admin.delete_group(&g).await.map_err(|e| exception_text(&e));
        results.push((g, r));
    }
    output::print_delete_result(&results, out);
    Ok(())
}

/// `--delete-offsets` for the single `--group` and its `--topic`s.
pub async fn delete_offsets(
    admin: &mut GroupAdmin,
    opts: &GroupOptions,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let group = opts.groups.first().cloned().unwrap_or_default();
    let mut results: Vec<(Tp, Option<String>)> = Vec::new();
    let mut partitions: Vec<Tp> = Vec::new();
    for arg in &opts.topics {
        match reset::parse_topic_arg(arg)? {
            TopicArg::Partitions(t, ps) => {
                partitions.extend(ps.into_iter().map(|p| (t.clone(), p)))
            }
            TopicArg::Whole(t) => match admin.partitions_of(&t).await? {
                Some(ps) => partitions.extend(ps.into_iter().map(|p| (t.clone(), p))),
                None => results.push((
                    (t, -1),
                    Some(error_message(ResponseError::UnknownTopicOrPartition)),
                )),
            },
        }
    }
    partitions.sort();
    partitions.dedup();
    let outcome = admin.delete_offsets(&group, &partitions).await;
    let top = match &outcome {
        Ok(_) => None,
        Err(ClientToolError::Kafka(e)) => Some(*e),
        Err(other) => return Err(CommandError::Failed(exception_text(other))),
    };
    let topics = opts.topics.join(", ");
    match top {
        None => {
            let partition_errors = outcome.as_ref().map(|m| m.values().any(|e| e.is_some())).unwrap_or(false);
            if partition_errors {
                print_error(out, "Encounter some partition level error, see the follow-up details:");
            } else {
                let _ = writeln!(out, "Request succeed for deleting offsets with topic {topics} group {group}");
            }
        }
        Some(ResponseError::InvalidGroupId) => print_error(out, &format!("'{group}' is not valid.")),
        Some(ResponseError::GroupIdNotFound) => print_error(out, &format!("'{group}' does not exist.")),
        Some(ResponseError::GroupAuthorizationFailed) => print_error(out, &format!("Access to '{group}' is not authorized.")),
        Some(ResponseError::NonEmptyGroup) => print_error(
            out,
            &format!("Deleting offsets of a consumer group '{group}' is forbidden if the group is not empty."),
        ),
        Some(e) => print_error(out, &format!("Encounter some unknown error: {}", crate::client::error::error_name(e))),
    }
    for tp in partitions {
        let status = match &outcome {
            Ok(m) => m.get(&tp).copied().flatten().map(error_message),
            Err(ClientToolError::Kafka(e)) => Some(error_message(*e)),
            Err(e) => Some(e.to_string()),
        };
        results.push((tp, status));
    }
    output::print_delete_offsets(&results, out);
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The partitions `--reset-offsets` acts on for a group (Kafka's `getPartitionsToReset`).
async fn partitions_to_reset(
    admin: &mut GroupAdmin,
    group: &str,
    reset: &ResetOptions,
    opts: &GroupOptions,
) -> Result<Vec<Tp>, CommandError> {
    if reset.all_topics {
        return Ok(admin.fetch_offsets(group).await?.into_keys().collect());
    }
    if !opts.topics.is_empty() {
        let mut out = Vec::new();
        for arg in &opts.topics {
            match reset::parse_topic_arg(arg)? {
                TopicArg::Partitions(t, ps) => out.extend(ps.into_iter().map(|p| (t.clone(), p))),
                TopicArg::Whole(t) => match admin.partitions_of(&t).await? {
                    Some(ps) => out.extend(ps.into_iter().map(|p| (t.clone(), p))),
                    None => {
                        return Err(
                            ClientToolError::Kafka(ResponseError::UnknownTopicOrPartition).into(),
                        )
                    }
                },
            }
        }
        return Ok(out);
    }
    if matches!(reset.spec, Some(ResetSpec::FromFile(_))) {
        return Ok(Vec::new());
    }
    Err(CommandError::Usage(
        "One of the reset scopes should be defined: --all-topics, --topic.".into(),
    ))
}

/// Turn the reset spec into a scenario and fetch the offsets it needs.
async fn gather(
    admin: &mut GroupAdmin,
    group: &str,
    spec: &ResetSpec,
    partitions: &[Tp],
    file_plan: &Option<BTreeMap<String, BTreeMap<Tp, i64>>>,
    out: &mut dyn Write,
) -> Result<Option<(Scenario, OffsetData)>, CommandError> {
    let mut data = OffsetData::default();
    let scenario = match spec {
        ResetSpec::ToOffset(n) => Scenario::ToOffset(*n),
        ResetSpec::ToEarliest => Scenario::ToEarliest,
        ResetSpec::ToLatest => Scenario::ToLatest,
        ResetSpec::ToCurrent => Scenario::ToCurrent,
        ResetSpec::ShiftBy(n) => Scenario::ShiftBy(*n),
        ResetSpec::ToDatetime(text) => {
            Scenario::ToTimestamp(reset::parse_datetime(text).map_err(CommandError::Failed)?)
        }
        ResetSpec::ByDuration(text) => {
            let d = reset::parse_duration(text).map_err(CommandError::Failed)?;
            Scenario::ToTimestamp(now_ms() - d)
        }
        ResetSpec::FromFile(_) => match file_plan.as_ref().and_then(|p| p.get(group)) {
            Some(requested) => Scenario::Requested(requested.clone()),
            None => {
                print_error(out, &format!("No reset plan for group {group} found"));
                return Ok(None);
            }
        },
    };
    let mut tps: Vec<Tp> = partitions.to_vec();
    if let Scenario::Requested(r) = &scenario {
        tps.extend(r.keys().cloned());
    }
    tps.sort();
    tps.dedup();
    if matches!(scenario, Scenario::ShiftBy(_) | Scenario::ToCurrent) {
        data.committed = admin.fetch_offsets(group).await?;
    }
    if tps.is_empty() {
        return Ok(Some((scenario, data)));
    }
    let flatten = |m: BTreeMap<Tp, Option<i64>>| {
        m.into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    };
    if !matches!(scenario, Scenario::ToCurrent | Scenario::ToTimestamp(_)) {
        data.log_start = flatten(admin.list_offsets(&tps, -2).await?);
    }
    data.log_end = flatten(admin.list_offsets(&tps, -1).await?);
    if let Scenario::ToTimestamp(ts) = scenario {
        data.by_time = admin.list_offsets(&tps, ts).await?;
    }
    Ok(Some((scenario, data)))
}

/// `--reset-offsets`: plan per group (refusing active groups), commit with `--execute`, and
/// return the plans for printing or exporting.
pub async fn reset_offsets(
    admin: &mut GroupAdmin,
    opts: &GroupOptions,
    reset: &ResetOptions,
    out: &mut dyn Write,
) -> Result<BTreeMap<String, BTreeMap<Tp, i64>>, CommandError> {
    let groups = target_groups(admin, opts).await?;
    let file_plan = match &reset.spec {
        Some(ResetSpec::FromFile(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CommandError::Failed(format!("java.nio.file.NoSuchFileException: {path} ({e})"))
            })?;
            Some(reset::parse_reset_plan(&text, &opts.groups)?)
        }
        _ => None,
    };
    let mut result = BTreeMap::new();
    for group in groups {
        let desc = admin.describe_group(&group).await?;
        if desc.state != "Empty" && desc.state != "Dead" {
            print_error(
                out,
                &format!(
                    "Assignments can only be reset if the group '{group}' is inactive, but the current state is {}.",
                    desc.state
                ),
            );
            result.insert(group, BTreeMap::new());
            continue;
        }
        let partitions = partitions_to_reset(admin, &group, reset, opts).await?;
        let Some(spec) = &reset.spec else {
            return Err(CommandError::Usage(
                "Option '[reset-offsets]' requires one of the following scenarios: [to-offset], [shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file]".into(),
            ));
        };
        let Some((scenario, data)) =
            gather(admin, &group, spec, &partitions, &file_plan, out).await?
        else {
            result.insert(group, BTreeMap::new());
            continue;
        };
        let (plan, warnings) = reset::prepare(&scenario, &partitions, &data)?;
        for w in warnings {
            log(Level::Warn, &w, LOGGER);
        }
        if reset.execute && !plan.is_empty() {
            let errors = admin.commit_offsets(&group, &plan).await?;
            if let Some(e) = errors.values().flatten().next() {
                return Err(ClientToolError::Kafka(*e).into());
            }
        }
        result.insert(group, plan);
    }
    Ok(result)
}
