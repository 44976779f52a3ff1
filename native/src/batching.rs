//! Batching across requests: a graph whose every input and output has a leading batch dimension
//! (the encoder, the combined quality model, the classifier) is wrapped in a [`Batched`] graph.
//! Each `run` joins a queue; a few worker threads (as many as the runtime can run at once) each
//! take what is waiting, up to `max_batch` rows, run the graph once on the rows stacked, and hand
//! each caller its own rows back. There is no queue delay: a worker never waits for more work, so
//! a lone request runs at once, and requests that arrive while the workers are busy share the next
//! run. The answers are the graph's on each request alone (the graphs treat rows independently).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use vectune_core::error::Error;
use vectune_core::graph::{Feed, Graph};

/// A callback told the model's name and the rows of each batched run.
pub type ObserveRows = dyn Fn(&str, usize) + Send + Sync;

/// Told the rows of every batched run: the metrics' `vectune_batch_size`.
#[derive(Clone)]
pub struct BatchObserver(pub Arc<ObserveRows>);

impl std::fmt::Debug for BatchObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BatchObserver")
    }
}

impl PartialEq for BatchObserver {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// How graphs are batched.
#[derive(Clone, Debug, PartialEq)]
pub struct Batching {
    /// Most rows in one run.
    pub max_batch: usize,
    /// Worker threads per graph (runs at once).
    pub workers: usize,
    /// Told each run's rows, with the model's name.
    pub observer: Option<BatchObserver>,
}

/// One caller's request: its inputs and where its rows go.
struct Job {
    feeds: Vec<(String, Vec<usize>, Vec<f32>)>,
    rows: usize,
    reply: mpsc::SyncSender<Result<Vec<f32>, Error>>,
}

struct Shared {
    inner: Arc<dyn Graph>,
    name: String,
    max_batch: usize,
    observer: Option<BatchObserver>,
    queue: Mutex<VecDeque<Job>>,
    waiting: Condvar,
    closed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A graph whose runs are gathered into batches (see the module docs).
pub struct Batched {
    shared: Arc<Shared>,
    /// No worker thread could start: runs go straight to the graph.
    direct: bool,
}

impl Batched {
    /// Wraps `inner` (model `name`).
    pub fn new(inner: Arc<dyn Graph>, name: &str, batching: &Batching) -> Batched {
        let shared = Arc::new(Shared {
            inner,
            name: name.to_string(),
            max_batch: batching.max_batch.max(1),
            observer: batching.observer.clone(),
            queue: Mutex::new(VecDeque::new()),
            waiting: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        let started = (0..batching.workers.max(1))
            .filter(|i| {
                let s = shared.clone();
                std::thread::Builder::new()
                    .name(format!("vectune-batch-{name}-{i}"))
                    .spawn(move || work(&s))
                    .is_ok()
            })
            .count();
        Batched {
            shared,
            direct: started == 0,
        }
    }
}

impl Drop for Batched {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.waiting.notify_all();
    }
}

/// Takes the waiting jobs, up to `max_batch` rows (at least one job), and runs them as one.
fn work(s: &Shared) {
    loop {
        let jobs: Vec<Job> = {
            let mut queue = lock(&s.queue);
            while queue.is_empty() {
                if s.closed.load(Ordering::SeqCst) {
                    return;
                }
                queue = s
                    .waiting
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let mut rows = 0;
            let mut jobs = Vec::new();
            while let Some(job) = queue.front() {
                if !jobs.is_empty() && rows + job.rows > s.max_batch {
                    break;
                }
                rows += job.rows;
                jobs.extend(queue.pop_front());
            }
            jobs
        };
        run_batch(s, jobs);
    }
}

fn run_batch(s: &Shared, jobs: Vec<Job>) {
    if jobs.len() == 1 || !jobs.iter().all(|j| stackable(j, &jobs[0])) {
        for job in &jobs {
            if let Some(o) = &s.observer {
                (o.0)(&s.name, job.rows);
            }
            let _ = job.reply.send(run_one(s.inner.as_ref(), &job.feeds));
        }
        return;
    }
    // stack every input along the batch dimension, in job order
    let rows: usize = jobs.iter().map(|j| j.rows).sum();
    let first = &jobs[0].feeds;
    let mut stacked: Vec<(String, Vec<usize>, Vec<f32>)> = first
        .iter()
        .map(|(name, shape, _)| {
            let mut shape = shape.clone();
            shape[0] = rows;
            (name.clone(), shape, Vec::new())
        })
        .collect();
    for job in &jobs {
        for ((_, _, all), (_, _, data)) in stacked.iter_mut().zip(&job.feeds) {
            all.extend_from_slice(data);
        }
    }
    if let Some(o) = &s.observer {
        (o.0)(&s.name, rows);
    }
    match run_one(s.inner.as_ref(), &stacked) {
        Ok(out) if out.len().is_multiple_of(rows) => {
            let per_row = out.len() / rows;
            let mut at = 0;
            for job in &jobs {
                let n = job.rows * per_row;
                let _ = job.reply.send(Ok(out[at..at + n].to_vec()));
                at += n;
            }
        }
        Ok(out) => {
            let e = Error::runtime(format!("a batch of {rows} rows gave {} values", out.len()));
            for job in &jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            for job in &jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

/// Runs the graph; a panic in it fails this run (and keeps the worker alive for the next).
fn run_one(graph: &dyn Graph, feeds: &[(String, Vec<usize>, Vec<f32>)]) -> Result<Vec<f32>, Error> {
    let refs: Vec<Feed<'_>> = feeds
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.clone(), d.as_slice()))
        .collect();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| graph.run(&refs)))
        .unwrap_or_else(|_| Err(Error::runtime("the model's run panicked")))
}

/// Whether two jobs' inputs stack: the same names, in order, with the same shapes past the batch.
fn stackable(a: &Job, b: &Job) -> bool {
    a.feeds.len() == b.feeds.len()
        && a.feeds
            .iter()
            .zip(&b.feeds)
            .all(|(x, y)| x.0 == y.0 && x.1[1..] == y.1[1..])
}

impl Graph for Batched {
    fn input_names(&self) -> &[String] {
        self.shared.inner.input_names()
    }

    fn run(&self, feeds: &[Feed<'_>]) -> Result<Vec<f32>, Error> {
        let rows = feeds
            .first()
            .and_then(|f| f.1.first())
            .copied()
            .unwrap_or(0);
        let batchable = rows > 0
            && feeds
                .iter()
                .all(|(_, shape, data)| shape.first() == Some(&rows) && !data.is_empty());
        if !batchable || self.direct {
            return self.shared.inner.run(feeds);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            feeds: feeds
                .iter()
                .map(|(n, s, d)| (n.to_string(), s.clone(), d.to_vec()))
                .collect(),
            rows,
            reply,
        };
        lock(&self.shared.queue).push_back(job);
        self.shared.waiting.notify_one();
        answer
            .recv()
            .unwrap_or_else(|_| Err(Error::runtime("the batching worker stopped")))
    }
}
