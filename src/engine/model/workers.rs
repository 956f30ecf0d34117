//! Batches of forward passes, and where they run.
//!
//! A corpus job's forward passes are independent. On this project's reference machine (2 cores)
//! one pool splitting every product across both cores ran zero-shot 10% (small) and 5% (medium)
//! slower than two single-thread workers each running whole batches, because small products
//! split in two spend much of their time waking and waiting for the other thread. So with enough
//! batches, each core gets a worker of its own; a few batches (an interactive call) run one at a
//! time with every product using all cores.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};

/// Keeps candle's own thread pool from competing with ours; call it first in `main`, before any
/// other thread starts. candle (0.11) runs element-wise operations over 64K values or more on a
/// pool of its own (`CANDLE_NUM_THREADS` threads, by default as many as rayon's) whose idle
/// workers spin for 25,000 pauses after each operation before they sleep. Our products,
/// attention and training operations run on rayon, and the element-wise work left to candle is
/// a few short passes (a fine-tune's gradient sums), so that spinning thread mostly took a core
/// from them: on a 2-core AMD Zen 4 it held 14% of a fine-tune's samples, and with one candle
/// thread (those passes on the calling thread) the fine-tune ran 8–17% faster, zero-shot and
/// scans as fast or within noise. A value set in the environment is kept.
pub fn keep_candle_pool_idle() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Consecutive batches of `lengths` (rows in the order they are batched, sorted by length for
/// little padding): at most `max_rows` rows and `max_tokens` padded tokens (rows × the longest)
/// each; a row longer than the token budget is a batch of its own.
pub fn batch_ranges(lengths: &[usize], max_rows: usize, max_tokens: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < lengths.len() {
        let mut end = start + 1;
        let mut longest = lengths[start];
        while end < lengths.len() && end - start < max_rows {
            let longer = longest.max(lengths[end]);
            if (end - start + 1) * longer > max_tokens {
                break;
            }
            longest = longer;
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// `f` over batches of items taken shortest first ([`batch_ranges`] on `lengths`, run by
/// [`map_batches`]), each call given its items' indices and returning one result per item; the
/// results come back in the items' order. A result must not depend on its batch (padding does
/// not change a sequence's outputs).
pub fn map_by_length<T: Send>(
    lengths: &[usize],
    max_rows: usize,
    max_tokens: usize,
    f: impl Fn(&[usize]) -> Result<Vec<T>> + Sync,
) -> Result<Vec<T>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let sorted: Vec<usize> = order.iter().map(|&i| lengths[i]).collect();
    let results = map_batches(&batch_ranges(&sorted, max_rows, max_tokens), |range| f(&order[range]))?;
    let mut out: Vec<Option<T>> = lengths.iter().map(|_| None).collect();
    for (&i, result) in order.iter().zip(results.into_iter().flatten()) {
        out[i] = Some(result);
    }
    Ok(out.into_iter().map(|r| r.expect("one result per item")).collect())
}

/// One single-thread pool per core, made on first use; empty if they cannot be made.
fn workers() -> &'static [rayon::ThreadPool] {
    static POOLS: OnceLock<Vec<rayon::ThreadPool>> = OnceLock::new();
    POOLS.get_or_init(|| {
        // glibc gives every thread that allocates its own malloc arena, and each arena keeps the
        // pages of the activation buffers its thread freed: two workers added 47 MiB to a
        // medium model's zero-shot peak. Threads reuse the existing arenas instead (as fast here,
        // measured); other allocators need nothing.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes a limit of the allocator; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        let n = candle_core::utils::get_num_threads();
        let pools: Vec<_> = (0..n).map_while(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build().ok()).collect();
        if pools.len() == n {
            pools
        } else {
            Vec::new()
        }
    })
}

/// `f` on every batch, results in batch order. With at least two batches per core, whole batches
/// run on single-thread workers (one per core); otherwise one after another on the shared pool.
/// The first error (in batch order) is returned, and no new batch starts after one.
pub fn map_batches<T: Send>(batches: &[Range<usize>], f: impl Fn(Range<usize>) -> Result<T> + Sync) -> Result<Vec<T>> {
    let pools = workers();
    if pools.len() < 2 || batches.len() < 2 * pools.len() {
        return batches.iter().map(|b| f(b.clone())).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<T>>>> = batches.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for pool in pools {
            let (next, results, f) = (&next, &results, &f);
            scope.spawn(move || {
                pool.install(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= batches.len() {
                        break;
                    }
                    let result = f(batches[i].clone());
                    let failed = result.is_err();
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                    if failed {
                        next.store(batches.len(), Ordering::Relaxed);
                    }
                })
            });
        }
    });
    let mut out = Vec::with_capacity(batches.len());
    for slot in results {
        match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(result) => out.push(result?),
            None => return Err(Error::Input("a batch was skipped after another failed".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_both_budgets_and_cover_every_row_once() {
        let lengths = [3, 3, 4, 5, 9, 9, 9, 30, 31];
        let batches = batch_ranges(&lengths, 3, 28);
        assert_eq!(batches, vec![0..3, 3..6, 6..7, 7..8, 8..9]);
        for b in &batches {
            let longest = lengths[b.clone()].iter().max().unwrap();
            assert!(b.len() <= 3 && (b.len() == 1 || b.len() * longest <= 28), "{b:?}");
        }
    }

    #[test]
    fn results_come_back_in_batch_order_and_errors_are_reported() {
        let batches: Vec<Range<usize>> = (0..40).map(|i| i..i + 1).collect();
        let squares = map_batches(&batches, |r| Ok(r.start * r.start)).unwrap();
        assert_eq!(squares, (0..40).map(|i| i * i).collect::<Vec<_>>());
        let failed = map_batches(&batches, |r| if r.start == 17 { Err(Error::Input("batch 17".into())) } else { Ok(r.start) });
        assert!(failed.is_err());
    }
}
