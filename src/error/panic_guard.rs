//! Panics inside a library, caught and turned into errors.
//!
//! Some readers assert on damaged input instead of returning an error (the parquet crate on
//! some corrupt footers). [`catch`] runs such a call, and a panic in it becomes the panic's
//! message, which the caller turns into an error naming the file. The process-wide panic hook
//! stays the one that was installed; it is only kept quiet on the thread, and for the call, that
//! expects the panic, so a caught panic prints nothing and every other panic prints as before.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it is returned as `Err(message)` instead of unwinding further.
/// Whatever `f` touched may be left half-changed, so callers discard it (a reader, a buffer).
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was_quiet = QUIET.with(|q| q.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was_quiet));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn panics_become_their_message_and_the_rest_is_untouched() {
        assert_eq!(super::catch(|| 7), Ok(7));
        assert_eq!(
            super::catch(|| -> u8 { panic!("column start and length should not be negative") }),
            Err("column start and length should not be negative".into())
        );
        let n = 3;
        assert_eq!(super::catch(move || -> u8 { panic!("slice {n}") }), Err("slice 3".into()));
        // Nested: the outer call is still guarded after the inner one returns.
        let outer = super::catch(|| {
            assert_eq!(super::catch(|| -> u8 { panic!("inner") }), Err("inner".into()));
            panic!("outer")
        });
        assert_eq!(outer, Err::<(), _>("outer".into()));
    }
}
