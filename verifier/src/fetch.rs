//! Working ahead: a few worker threads fetch (and pre-check) the items of a
//! plan while the caller handles earlier ones; results come back in plan
//! order. At most `depth` results wait at any time, so memory stays bounded.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

type Job<P, T> = (P, SyncSender<T>);

/// An iterator over `work(p)` for each `p` of `plan`, in plan order, with
/// `work` running on `workers` threads ahead of the caller.
pub(crate) struct Prefetch<I: Iterator, T> {
    plan: I,
    inflight: VecDeque<Receiver<T>>,
    jobs: Sender<Job<I::Item, T>>,
    depth: usize,
}

impl<I, T> Prefetch<I, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
{
    /// Starts the worker threads; they end when this is dropped.
    pub(crate) fn new(
        workers: usize,
        plan: I,
        work: impl Fn(I::Item) -> T + Send + Sync + 'static,
    ) -> Self {
        let workers = workers.max(1);
        let (jobs, queue) = channel::<Job<I::Item, T>>();
        let queue = Arc::new(Mutex::new(queue));
        let work = Arc::new(work);
        for _ in 0..workers {
            let (queue, work) = (queue.clone(), work.clone());
            std::thread::spawn(move || {
                loop {
                    let job = queue.lock().map(|q| q.recv());
                    let Ok(Ok((item, reply))) = job else { return };
                    // The receiver may be gone (the caller stopped early).
                    let _ = reply.send(work(item));
                }
            });
        }
        Prefetch {
            plan,
            inflight: VecDeque::new(),
            jobs,
            depth: 4 * workers + 4,
        }
    }
}

impl<I: Iterator, T> Iterator for Prefetch<I, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        while self.inflight.len() < self.depth {
            let Some(item) = self.plan.next() else { break };
            let (reply, result) = sync_channel(1);
            // Workers live as long as `jobs`, so this cannot fail.
            let _ = self.jobs.send((item, reply));
            self.inflight.push_back(result);
        }
        let result = self.inflight.pop_front()?;
        // A worker only drops a reply if `work` panicked.
        Some(result.recv().expect("worker thread panicked"))
    }
}
