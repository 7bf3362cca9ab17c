//! Where admission decisions run: off the async runtime, on a bounded pool.
//!
//! A decision is synchronous work of the core (a dry render, a schema, filters) that
//! is bounded by its own budgets but may still take milliseconds. Run on the runtime's
//! threads it would hold up accepts, TLS handshakes and every other request; so each
//! runs on a blocking thread, at most `running` at once, with at most `waiting` more
//! queued. Whatever does not start, or does not finish, by the review's deadline is
//! answered (a denial saying why) while the work, if it started, ends on its own
//! budgets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::Semaphore;

/// Why a decision was not made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// It did not start or finish by the deadline.
    Deadline,
    /// Too many decisions were running and waiting.
    Overloaded,
}

/// The pool's limits and state.
pub struct DecisionPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Decisions that may run at once.
    pub max_running: usize,
    /// Decisions that may wait for one of those.
    pub max_waiting: usize,
}

/// Counts a waiting decision for as long as it waits, however its wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl DecisionPool {
    /// A pool running at most `max_running` decisions, with `max_waiting` queued.
    pub fn new(max_running: usize, max_waiting: usize) -> Self {
        let max_running = max_running.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max_running)),
            waiting: AtomicUsize::new(0),
            max_running,
            max_waiting,
        }
    }

    /// Decisions running now.
    pub fn running(&self) -> usize {
        self.max_running - self.permits.available_permits()
    }

    /// Runs `decide` on a blocking thread, if it can start and finish by `deadline`.
    /// A panic in it is `Ok(Err(_))`.
    pub async fn run<T: Send + 'static>(
        &self,
        deadline: Instant,
        decide: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Result<T, tokio::task::JoinError>, Refused> {
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    return Err(Refused::Overloaded);
                }
                let _waiting = Waiting(&self.waiting);
                match tokio::time::timeout_at(
                    deadline.into(),
                    Arc::clone(&self.permits).acquire_owned(),
                )
                .await
                {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(Refused::Overloaded),
                    Err(_) => return Err(Refused::Deadline),
                }
            }
        };
        // The permit goes with the work: a decision that outlives its deadline still
        // counts as running until its own budgets end it.
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            decide()
        });
        tokio::time::timeout_at(deadline.into(), work)
            .await
            .map_err(|_| Refused::Deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_refuses_when_full_and_answers_at_the_deadline() {
        let pool = Arc::new(DecisionPool::new(1, 1));
        let soon = || Instant::now() + Duration::from_secs(5);
        assert_eq!(pool.run(soon(), || 7).await.unwrap().unwrap(), 7);
        // One slow decision runs, one waits, the third is refused at once.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let slow = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                pool.run(soon(), move || {
                    let _ = rx.recv_timeout(Duration::from_secs(5));
                })
                .await
            })
        };
        while pool.running() == 0 {
            tokio::task::yield_now().await;
        }
        let waiting = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                pool.run(Instant::now() + Duration::from_millis(200), || ())
                    .await
            })
        };
        while pool.waiting.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            pool.run(soon(), || ()).await.unwrap_err(),
            Refused::Overloaded
        );
        // The waiting one's deadline passes before the slow one ends.
        assert_eq!(waiting.await.unwrap().unwrap_err(), Refused::Deadline);
        assert_eq!(pool.waiting.load(Ordering::Relaxed), 0);
        tx.send(()).unwrap();
        assert!(slow.await.unwrap().is_ok());
        // A decision that overruns its deadline is answered at the deadline, while the
        // work is still running (it ends only when released below).
        let (release, held) = std::sync::mpsc::channel::<()>();
        let late = pool
            .run(Instant::now() + Duration::from_millis(100), move || {
                let _ = held.recv_timeout(Duration::from_secs(5));
            })
            .await;
        assert_eq!(late.unwrap_err(), Refused::Deadline);
        assert_eq!(pool.running(), 1);
        release.send(()).unwrap();
        // A panic is reported, not propagated.
        #[allow(clippy::panic)]
        let r = pool.run(soon(), || panic!("bug")).await.unwrap();
        assert!(r.unwrap_err().is_panic());
    }
}
