//! The periodic work of the [`LogManager`] on one background std thread: retention, `flush.ms`
//! flushes, recovery-point/log-start checkpoints (60 s) and high-watermark checkpoints (5 s).

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::log::wall_clock_ms;
use crate::log_manager::LogManager;

/// Delay before the first retention pass (Kafka: 30 s).
pub const INITIAL_RETENTION_DELAY_MS: u64 = 30_000;
/// Interval of the recovery point / log start checkpoints (Kafka: 60 s).
pub const RECOVERY_POINT_CHECKPOINT_INTERVAL_MS: u64 = 60_000;
/// Interval of the high watermark checkpoint (Kafka: 5 s).
pub const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS: u64 = 5_000;

/// Handle on the running background thread.
pub(crate) struct BackgroundTasks {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Task {
    Retention,
    Flush,
    RecoveryCheckpoint,
    HwCheckpoint,
}

impl LogManager {
    /// Spawns the periodic tasks: retention every `retention_check_interval_ms` (first run after
    /// 30 s), flush check every `flush_check_interval_ms`, recovery-point/log-start checkpoint
    /// every 60 s, HW checkpoint every 5 s; stopped by [`LogManager::shutdown`].
    pub fn start_background_tasks(self: &Arc<Self>, retention_check_interval_ms: u64, flush_check_interval_ms: u64) {
        self.start_background_tasks_with_initial_delay(INITIAL_RETENTION_DELAY_MS, retention_check_interval_ms, flush_check_interval_ms)
    }

    /// Like [`LogManager::start_background_tasks`] with a chosen delay before the first
    /// retention pass (tests use a short one).
    pub fn start_background_tasks_with_initial_delay(
        self: &Arc<Self>,
        initial_retention_delay_ms: u64,
        retention_check_interval_ms: u64,
        flush_check_interval_ms: u64,
    ) {
        let mut slot = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return;
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let weak: Weak<LogManager> = Arc::downgrade(self);
        let stop2 = stop.clone();
        let start = Instant::now();
        let ms = |v: u64| Duration::from_millis(v.clamp(1, u64::MAX / 4_000_000));
        let mut schedule = [
            (start + ms(initial_retention_delay_ms), ms(retention_check_interval_ms), Task::Retention),
            (start + ms(flush_check_interval_ms), ms(flush_check_interval_ms), Task::Flush),
            (start + ms(RECOVERY_POINT_CHECKPOINT_INTERVAL_MS), ms(RECOVERY_POINT_CHECKPOINT_INTERVAL_MS), Task::RecoveryCheckpoint),
            (start + ms(HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS), ms(HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS), Task::HwCheckpoint),
        ];
        let spawned = std::thread::Builder::new().name("log-manager-scheduler".into()).spawn(move || {
            let (lock, cv) = &*stop2;
            loop {
                let now = Instant::now();
                let next_due = schedule.iter().map(|t| t.0).min().unwrap_or(now);
                {
                    let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                    if next_due > now && !*stopped {
                        stopped = cv.wait_timeout(stopped, next_due - now).map(|r| r.0).unwrap_or_else(|p| p.into_inner().0);
                    }
                    if *stopped {
                        return;
                    }
                }
                let Some(mgr) = weak.upgrade() else { return };
                let now = Instant::now();
                for entry in schedule.iter_mut().filter(|e| e.0 <= now) {
                    entry.0 = now + entry.1;
                    match entry.2 {
                        Task::Retention => {
                            mgr.cleanup_logs(wall_clock_ms());
                        }
                        Task::Flush => mgr.flush_dirty_logs(wall_clock_ms()),
                        Task::RecoveryCheckpoint => {
                            if let Err(e) = mgr.checkpoint_recovery_points() {
                                tracing::error!("recovery point checkpoint failed: {e}");
                            }
                        }
                        Task::HwCheckpoint => {
                            if let Err(e) = mgr.checkpoint_high_watermarks() {
                                tracing::error!("high watermark checkpoint failed: {e}");
                            }
                        }
                    }
                }
                drop(mgr);
            }
        });
        match spawned {
            Ok(h) => *slot = Some(BackgroundTasks { stop, handle: Some(h) }),
            Err(e) => tracing::error!("cannot start log manager background tasks: {e}"),
        }
    }

    /// Stops the background thread (no-op if not running).
    pub(crate) fn stop_background_tasks(&self) {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut t) = tasks {
            {
                let (lock, cv) = &*t.stop;
                *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
                cv.notify_all();
            }
            if let Some(h) = t.handle.take() {
                // The last Arc may be dropped on the scheduler thread itself: never join oneself.
                if h.thread().id() != std::thread::current().id() {
                    let _ = h.join();
                }
            }
        }
    }
}
