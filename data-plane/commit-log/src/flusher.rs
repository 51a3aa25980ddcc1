//! Group commit: one thread per log that fdatasyncs whatever has been written but is not yet durable, so
//! that all appends waiting at that moment share one fsync. It runs a round when told to (`notify`) or when
//! a deadline set with `notify_by` passes (interval durability). Owns the thread, its wake-up signal and the
//! fsync counters; what to sync and what a finished sync means belong to the [`FlushSource`] (the log).

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

/// One round of syncing: `files` in order, then `dir` if set; `mark` says what becomes durable.
pub(crate) struct FlushJob<M> {
    pub files: Vec<Arc<File>>,
    pub dir: Option<PathBuf>,
    pub mark: M,
}

/// What the flusher flushes.
pub(crate) trait FlushSource: Send + Sync + 'static {
    type Mark: Send;
    /// The work outstanding right now, if any.
    fn take_job(&self) -> Option<FlushJob<Self::Mark>>;
    /// Called with the outcome of a job.
    fn complete(&self, mark: Self::Mark, result: io::Result<()>);
}

#[derive(Default)]
struct SignalState {
    dirty: bool,
    /// Run a round no later than this.
    deadline: Option<Instant>,
    shutdown: bool,
}

#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

#[derive(Default)]
struct Counters {
    fsyncs: AtomicU64,
    rounds: AtomicU64,
}

pub(crate) struct Flusher {
    signal: Arc<Signal>,
    counters: Arc<Counters>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Flusher {
    pub fn spawn<S: FlushSource>(source: Arc<S>) -> io::Result<Self> {
        let signal = Arc::new(Signal::default());
        let counters = Arc::new(Counters::default());
        let thread = std::thread::Builder::new().name("omnibus-log-flush".into()).stack_size(256 * 1024).spawn({
            let signal = Arc::clone(&signal);
            let counters = Arc::clone(&counters);
            move || run(&signal, &counters, &*source)
        })?;
        Ok(Self { signal, counters, thread: Mutex::new(Some(thread)) })
    }

    /// Tells the flusher there may be work now.
    pub fn notify(&self) {
        self.signal.state.lock().unwrap_or_else(PoisonError::into_inner).dirty = true;
        self.signal.wake.notify_one();
    }

    /// Tells the flusher to run a round no later than `deadline` (an earlier deadline already set stands).
    pub fn notify_by(&self, deadline: Instant) {
        let mut state = self.signal.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.deadline.is_none_or(|d| deadline < d) {
            state.deadline = Some(deadline);
            self.signal.wake.notify_one();
        }
    }

    /// Runs a last round and stops the thread; later calls do nothing.
    pub fn shutdown(&self) {
        self.signal.state.lock().unwrap_or_else(PoisonError::into_inner).shutdown = true;
        self.signal.wake.notify_one();
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("log flusher thread panicked");
        }
    }

    /// fsync/fdatasync calls made so far.
    pub fn fsyncs(&self) -> u64 {
        self.counters.fsyncs.load(Ordering::Relaxed)
    }

    /// Flush rounds (one per group commit) so far.
    pub fn rounds(&self) -> u64 {
        self.counters.rounds.load(Ordering::Relaxed)
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run<S: FlushSource>(signal: &Signal, counters: &Counters, source: &S) {
    loop {
        let shutdown = {
            let mut state = signal.state.lock().unwrap_or_else(PoisonError::into_inner);
            while !state.dirty && !state.shutdown {
                match state.deadline {
                    None => state = signal.wake.wait(state).unwrap_or_else(PoisonError::into_inner),
                    Some(deadline) => {
                        let now = Instant::now();
                        if deadline <= now {
                            break;
                        }
                        state =
                            signal.wake.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
                    }
                }
            }
            state.dirty = false;
            state.deadline = None;
            state.shutdown
        };
        if let Some(job) = source.take_job() {
            let result = sync(&job, counters);
            counters.rounds.fetch_add(1, Ordering::Relaxed);
            source.complete(job.mark, result);
        }
        if shutdown {
            return;
        }
    }
}

fn sync<M>(job: &FlushJob<M>, counters: &Counters) -> io::Result<()> {
    for file in &job.files {
        file.sync_data()?;
        counters.fsyncs.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(dir) = &job.dir {
        File::open(dir)?.sync_all()?;
        counters.fsyncs.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
