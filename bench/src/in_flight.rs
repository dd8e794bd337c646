//! Requests kept in flight: how the end-to-end benchmarks load an actor as concurrent clients
//! would, so that its crypto, its writes and its peers' work overlap.

use std::collections::VecDeque;
use std::future::Future;

/// Runs the futures as tasks of the current actix system, at most `concurrency` at a time, in
/// order, and returns their answers in the same order; the first error ends the run.
pub async fn in_flight<T, E, F>(
    concurrency: usize,
    futures: impl IntoIterator<Item = F>,
) -> anyhow::Result<Vec<T>>
where
    T: 'static,
    E: Into<anyhow::Error> + 'static,
    F: Future<Output = Result<T, E>> + 'static,
{
    let mut pending = VecDeque::with_capacity(concurrency);
    let mut answers = Vec::new();
    for future in futures {
        pending.push_back(actix::spawn(future));
        if pending.len() >= concurrency.max(1)
            && let Some(first) = pending.pop_front()
        {
            answers.push(first.await?.map_err(Into::into)?);
        }
    }
    while let Some(next) = pending.pop_front() {
        answers.push(next.await?.map_err(Into::into)?);
    }
    Ok(answers)
}
