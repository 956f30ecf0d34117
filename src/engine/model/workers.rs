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

/// How many sequences a forward pass holds at most, in every engine.
pub const PASS_ROWS: usize = 64;

/// How many tokens (padding included) a pass holds when passes run on the single-thread workers
/// (a corpus job's batch, many texts or labels at once). Small passes keep a pass's activations
/// in its core's own cache (256 tokens × the small model's 1,024-wide intermediate layer = 1 MiB,
/// a Zen 4 core's L2): on a 2-core AMD Zen 4, against 2,048 tokens, a scan's 32-record batches ran
/// 14% faster on the small model and 1–6% on the medium; zero-shot (where 1,024 was the budget)
/// 5% faster on the small model and 3% on the medium, and the bf16 fast mode 10% / 3%. From 128
/// to 512 tokens the speed was flat (docs/benchmarks.md).
pub const WORKER_PASS_TOKENS: usize = 256;

/// How many tokens a pass holds when there are too few for the workers and passes run one after
/// another with every product split across all cores (an interactive call, or a job's batch on a
/// machine with many cores): larger passes give each core a larger share to work on. On 2 cores
/// 2,048 and 256 tokens ran at the same speed in this regime; on many cores, small passes would
/// split each product too thin.
pub const SHARED_PASS_TOKENS: usize = 2048;

/// The smallest pass the workers' last passes of a call shrink to (see [`plan_passes`]). With
/// passes of 256 tokens to the end and the shortest rows first, a worker that took the call's last
/// pass (the longest rows) kept the other waiting: on a 2-core AMD Zen 4, in the medium model's
/// scan (32-record calls), the workers sat idle 4–5% of their time inside the calls; longest rows
/// first with shrinking last passes, 1% (the small model: 2.7% → 1.7%). The products run as fast
/// on 32 rows as on 2,048 there, so the small passes cost nothing in them.
pub const TAIL_PASS_TOKENS: usize = 32;

/// The passes over `lengths` (rows in the order they are batched: sorted by length for little
/// padding, longest first so that the smallest passes come last): at most `max_rows` rows each,
/// and `max_tokens` padded tokens when given. Otherwise, when passes of [`WORKER_PASS_TOKENS`]
/// give every worker at least two ([`map_batches`]), passes of that size that shrink towards the
/// end: each holds at most the tokens left / (2 × workers), down to [`TAIL_PASS_TOKENS`], so the
/// workers finish a call together instead of one waiting for the other's last full pass (guided
/// self-scheduling); else [`SHARED_PASS_TOKENS`].
pub fn plan_passes(lengths: &[usize], max_rows: usize, max_tokens: Option<usize>) -> Vec<Range<usize>> {
    if let Some(tokens) = max_tokens {
        return batch_ranges(lengths, max_rows, tokens);
    }
    if !on_workers(batch_ranges(lengths, max_rows, WORKER_PASS_TOKENS).len()) {
        return batch_ranges(lengths, max_rows, SHARED_PASS_TOKENS);
    }
    let share = 2 * workers().len();
    cut(lengths, max_rows, |left| (left / share).clamp(TAIL_PASS_TOKENS, WORKER_PASS_TOKENS))
}

/// Consecutive batches of `lengths` (rows in the order they are batched, sorted by length for
/// little padding): at most `max_rows` rows and `max_tokens` padded tokens (rows × the longest)
/// each; a row longer than the token budget is a batch of its own.
pub fn batch_ranges(lengths: &[usize], max_rows: usize, max_tokens: usize) -> Vec<Range<usize>> {
    cut(lengths, max_rows, |_| max_tokens)
}

/// Consecutive batches of `lengths`, each as long as `max_rows` and a token budget allow (rows ×
/// the longest); `budget` gives each batch's from the tokens not yet batched. A row longer than
/// its budget is a batch of its own.
fn cut(lengths: &[usize], max_rows: usize, budget: impl Fn(usize) -> usize) -> Vec<Range<usize>> {
    let mut left: usize = lengths.iter().sum();
    let mut out = Vec::new();
    let mut start = 0;
    while start < lengths.len() {
        let max_tokens = budget(left);
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
        left -= lengths[start..end].iter().sum::<usize>();
        out.push(start..end);
        start = end;
    }
    out
}

/// `f` over batches of items taken longest first ([`plan_passes`] on `lengths`, run by
/// [`map_batches`]), each call given its items' indices and returning one result per item; the
/// results come back in the items' order. A result must not depend on its batch (padding does
/// not change a sequence's outputs).
pub fn map_by_length<T: Send>(
    lengths: &[usize],
    max_rows: usize,
    max_tokens: Option<usize>,
    f: impl Fn(&[usize]) -> Result<Vec<T>> + Sync,
) -> Result<Vec<T>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let sorted: Vec<usize> = order.iter().map(|&i| lengths[i]).collect();
    let results = map_batches(&plan_passes(&sorted, max_rows, max_tokens), |range| f(&order[range]))?;
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

/// Whether [`map_batches`] runs this many batches on its single-thread workers.
fn on_workers(batches: usize) -> bool {
    let pools = workers().len();
    pools >= 2 && batches >= 2 * pools
}

/// `f` on every batch, results in batch order. With at least two batches per core, whole batches
/// run on single-thread workers (one per core); otherwise one after another on the shared pool.
/// The first error (in batch order) is returned, and no new batch starts after one.
pub fn map_batches<T: Send>(batches: &[Range<usize>], f: impl Fn(Range<usize>) -> Result<T> + Sync) -> Result<Vec<T>> {
    if !on_workers(batches.len()) {
        return batches.iter().map(|b| f(b.clone())).collect();
    }
    let pools = workers();
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
    fn passes_are_small_only_when_there_are_enough_for_the_workers() {
        let tokens = |lengths: &[usize], passes: &[Range<usize>]| -> Vec<usize> {
            passes.iter().map(|p| p.len() * lengths[p.clone()].iter().max().unwrap()).collect()
        };
        // A job's batch: thousands of short rows.
        let many = vec![12; 4000];
        let passes = plan_passes(&many, PASS_ROWS, None);
        assert_eq!(passes.iter().map(|p| p.len()).sum::<usize>(), many.len());
        let budget = if workers().len() >= 2 { WORKER_PASS_TOKENS } else { SHARED_PASS_TOKENS };
        assert!(tokens(&many, &passes).iter().all(|&t| t <= budget), "{budget}");
        // Every pass but the last is as full as its budget allows: the workers' budgets shrink
        // over the last passes (the next test), the shared one does not.
        let share = 2 * workers().len();
        let mut left = 12 * many.len();
        for p in &passes[..passes.len() - 1] {
            let budget = if workers().len() >= 2 { (left / share).clamp(TAIL_PASS_TOKENS, WORKER_PASS_TOKENS) } else { budget };
            assert!(p.len() == PASS_ROWS || (p.len() + 1) * 12 > budget, "{p:?} is not filled to {budget} tokens");
            left -= 12 * p.len();
        }
        // An interactive call: three rows would make too few small passes for two workers, so
        // they share one larger pass.
        let few = [100, 110, 120];
        assert_eq!(plan_passes(&few, PASS_ROWS, None), vec![0..3]);
        // A budget given is kept.
        assert_eq!(plan_passes(&few, PASS_ROWS, Some(200)), batch_ranges(&few, PASS_ROWS, 200));
        assert_eq!(plan_passes(&few, PASS_ROWS, Some(200)).len(), 3);
    }

    #[test]
    fn the_workers_last_passes_shrink_and_every_row_is_in_one_pass() {
        if workers().len() < 2 {
            return; // One core: there are no workers, and the shared rule is tested above.
        }
        // A job's batch, longest rows first, as the engines order them.
        let mut lengths: Vec<usize> = (0..400).map(|i| 8 + (i * 37) % 90).collect();
        lengths.sort_by_key(|&n| std::cmp::Reverse(n));
        let passes = plan_passes(&lengths, PASS_ROWS, None);
        assert_eq!(passes.iter().flat_map(|p| p.clone()).collect::<Vec<_>>(), (0..lengths.len()).collect::<Vec<_>>());
        let padded: Vec<usize> = passes.iter().map(|p| p.len() * lengths[p.clone()].iter().max().unwrap()).collect();
        assert!(padded.iter().all(|&t| t <= WORKER_PASS_TOKENS), "{padded:?}");
        // Full passes while much is left; the last ones hold at most what is left over twice the
        // workers, and never less than the tail's budget allows.
        let share = 2 * workers().len();
        let mut left: usize = lengths.iter().sum();
        for (p, &tokens) in passes.iter().zip(&padded) {
            let budget = (left / share).clamp(TAIL_PASS_TOKENS, WORKER_PASS_TOKENS);
            assert!(tokens <= budget, "{p:?}: {tokens} tokens with {left} left");
            // Filled: one more row (the next, the same length or shorter) would not fit.
            if p.end < lengths.len() && p.len() < PASS_ROWS {
                assert!((p.len() + 1) * lengths[p.start] > budget, "{p:?} is not filled to {budget} tokens");
            }
            left -= lengths[p.clone()].iter().sum::<usize>();
        }
        assert!(padded[0] > WORKER_PASS_TOKENS - lengths[0], "the first pass is full: {}", padded[0]);
        assert!(*padded.last().unwrap() <= TAIL_PASS_TOKENS, "the last pass is small: {padded:?}");
        // A budget given is kept as it is, to the end.
        assert_eq!(plan_passes(&lengths, PASS_ROWS, Some(256)), batch_ranges(&lengths, PASS_ROWS, 256));
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
