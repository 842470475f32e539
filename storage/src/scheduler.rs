//! `DelayedDeleter`: removes files/directories after `file.delete.delay.ms` on a background
//! thread, so retention and topic deletion never block their caller (Kafka schedules the same
//! work on its `kafka-scheduler`). Pending deletions lost at shutdown are redone at the next
//! startup, which removes every `*.deleted` file and `*-delete` directory.

use std::collections::BinaryHeap;
use std::cmp::Reverse;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    queue: BinaryHeap<Reverse<(Instant, u64, PathBuf)>>,
    seq: u64,
    stopped: bool,
}

/// A background remover of files and directories with a per-item delay.
#[derive(Default)]
pub struct DelayedDeleter {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn remove_path(p: &std::path::Path) {
    let res = if p.is_dir() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
    match res {
        Ok(()) => tracing::debug!("deleted {}", p.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("failed to delete {}: {e}", p.display()),
    }
}

impl DelayedDeleter {
    /// A deleter whose thread starts on the first [`DelayedDeleter::schedule`].
    pub fn new() -> DelayedDeleter {
        DelayedDeleter::default()
    }

    /// Removes `path` (file or directory tree) after `delay_ms`.
    pub fn schedule(&self, path: PathBuf, delay_ms: i64) {
        let due = Instant::now() + Duration::from_millis(delay_ms.clamp(0, i64::MAX / 2) as u64);
        {
            let (lock, cv) = &*self.shared;
            let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
            if st.stopped {
                return;
            }
            st.seq += 1;
            let seq = st.seq;
            st.queue.push(Reverse((due, seq, path)));
            cv.notify_all();
        }
        let mut t = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_none() {
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new().name("storage-deleter".into()).spawn(move || run(shared));
            match spawned {
                Ok(h) => *t = Some(h),
                Err(e) => tracing::error!("cannot start the file deletion thread: {e}"),
            }
        }
    }

    /// Number of deletions still pending (tests).
    pub fn pending(&self) -> usize {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner()).queue.len()
    }

    /// Stops the thread; pending deletions are dropped (redone at next startup).
    pub fn shutdown(&self) {
        {
            let (lock, cv) = &*self.shared;
            let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
            st.stopped = true;
            cv.notify_all();
        }
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for DelayedDeleter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(shared: Arc<(Mutex<State>, Condvar)>) {
    let (lock, cv) = &*shared;
    let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if st.stopped {
            return;
        }
        let now = Instant::now();
        match st.queue.peek() {
            Some(Reverse((due, _, _))) if *due <= now => {
                if let Some(Reverse((_, _, path))) = st.queue.pop() {
                    drop(st);
                    remove_path(&path);
                    st = lock.lock().unwrap_or_else(|p| p.into_inner());
                }
            }
            Some(Reverse((due, _, _))) => {
                let wait = *due - now;
                st = cv.wait_timeout(st, wait).map(|r| r.0).unwrap_or_else(|p| p.into_inner().0);
            }
            None => {
                st = cv.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_after_delay() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.deleted");
        let d = dir.path().join("x-0.abc-delete");
        std::fs::write(&f, b"x").unwrap();
        std::fs::create_dir_all(d.join("inner")).unwrap();
        let del = DelayedDeleter::new();
        del.schedule(f.clone(), 0);
        del.schedule(d.clone(), 50);
        for _ in 0..200 {
            if !f.exists() && !d.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!f.exists());
        assert!(!d.exists());
        del.shutdown();
    }
}
