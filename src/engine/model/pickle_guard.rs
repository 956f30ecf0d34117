//! A bounded pre-check of a zip-format `pytorch_model.bin`'s pickle, run before candle reads it.
//!
//! candle's pickle reader runs no code, but it builds the whole object tree the pickle describes:
//! it clones a memoized object every time the pickle fetches it (so `BINGET BINGET TUPLE2 BINPUT`
//! repeated doubles the tree each time), allocates a string's declared length before reading it,
//! and drops nested tuples recursively (two million nested `TUPLE1` overflow the stack). Each of
//! those turns a few kilobytes of hostile file into an abort.
//!
//! This module runs the same opcodes abstractly: every stack entry is only its size (bytes it
//! would take as candle's objects) and its nesting depth, memo fetches copy those two numbers, and
//! the run stops with an error as soon as the pickle is larger, deeper or would hold more memory
//! than a real checkpoint ever does. Real state dicts are far inside every limit: BERT-base's
//! data.pkl is about 40 kB, its tree about 20 levels deep.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest data.pkl accepted (a real one lists names and shapes: kilobytes to a few MB).
pub const MAX_PICKLE_BYTES: u64 = 64 << 20;
/// The deepest nesting accepted (real checkpoints stay below 30).
pub const MAX_PICKLE_DEPTH: u32 = 256;
/// The most memory the object tree may take, all stack and memo entries together.
pub const MAX_PICKLE_TREE_BYTES: u64 = 1 << 30;
/// The most entries a checkpoint's zip may list (one per tensor storage, plus a few).
pub const MAX_ZIP_ENTRIES: usize = 1 << 20;

/// What an object costs before its payload: candle's `Object` enum plus its box or vector slot.
const NODE_BYTES: u64 = 48;

#[derive(Clone, Copy)]
enum Entry {
    Mark,
    Object { bytes: u64, depth: u32 },
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Entry>,
    memo: HashMap<u32, (u64, u32)>,
    /// Bytes held by every stack and memo entry together.
    live: u64,
}

/// Checks every `*data.pkl` in the zip at `path`. The error says what is wrong and what to do.
pub fn check_checkpoint(path: &Path) -> Result<()> {
    let bad = |why: String| {
        Error::weights(
            path,
            format!("{why}; this is not a checkpoint PyTorch writes (the file is corrupt or hostile): delete it and download it again, or use model.safetensors"),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| unreadable_checkpoint(path, e))?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(bad(format!("its zip lists {} entries (at most {MAX_ZIP_ENTRIES} are accepted)", zip.len())));
    }
    let names =
        zip.file_names().collect::<std::result::Result<Vec<_>, _>>().map_err(|e| bad(format!("its zip lists a name that cannot be read ({e})")))?;
    let pickles: Vec<String> = names.iter().filter(|n| n.ends_with("data.pkl")).map(|n| n.to_string()).collect();
    for name in pickles {
        let entry = zip.by_name(&name).map_err(|e| bad(format!("{name} cannot be read ({e})")))?;
        if entry.size() > MAX_PICKLE_BYTES {
            return Err(bad(format!("{name} is {} bytes (at most {MAX_PICKLE_BYTES} are accepted)", entry.size())));
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry.take(MAX_PICKLE_BYTES + 1).read_to_end(&mut data).map_err(|e| bad(format!("{name} cannot be read ({e})")))?;
        if data.len() as u64 > MAX_PICKLE_BYTES {
            return Err(bad(format!("{name} is larger than its zip entry says")));
        }
        check_pickle(&data).map_err(|why| bad(format!("{name}: {why}")))?;
    }
    Ok(())
}

/// The error for a `.bin` that is no zip-format checkpoint, whichever reader found out.
pub fn unreadable_checkpoint(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::weights(
        path,
        format!(
            "not a readable zip-format PyTorch checkpoint ({e}); the download may be truncated or corrupt, \
             or it was saved by PyTorch < 1.6 (re-save it with torch.save or convert it to safetensors)"
        ),
    )
}

/// Runs the pickle abstractly; `Err` says which limit it broke, and where.
pub fn check_pickle(data: &[u8]) -> std::result::Result<(), String> {
    let mut m = Machine { data, pos: 0, stack: Vec::new(), memo: HashMap::new(), live: 0 };
    loop {
        let at = m.pos;
        let op = m.byte().map_err(|_| "it ends without a STOP opcode".to_string())?;
        let done = m.step(op).map_err(|why| format!("{why} (opcode 0x{op:02x} at byte {at})"))?;
        if done {
            return Ok(());
        }
    }
}

impl Machine<'_> {
    fn byte(&mut self) -> std::result::Result<u8, String> {
        let b = *self.data.get(self.pos).ok_or("the pickle ends in the middle of an opcode")?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("it declares {n} bytes of data but only {} are left", self.data.len() - self.pos))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u32_le(&mut self) -> std::result::Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> std::result::Result<usize, String> {
        let rest = &self.data[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or("a GLOBAL name has no end of line")?;
        self.pos += n + 1;
        Ok(n)
    }

    fn push(&mut self, bytes: u64, depth: u32) -> std::result::Result<(), String> {
        if depth > MAX_PICKLE_DEPTH {
            return Err(format!("objects nest deeper than {MAX_PICKLE_DEPTH} levels"));
        }
        self.live = self.live.saturating_add(bytes);
        if self.live > MAX_PICKLE_TREE_BYTES {
            return Err(format!("its objects would take more than {MAX_PICKLE_TREE_BYTES} bytes of memory"));
        }
        self.stack.push(Entry::Object { bytes, depth });
        Ok(())
    }

    fn leaf(&mut self, payload: usize) -> std::result::Result<(), String> {
        self.push(NODE_BYTES + payload as u64, 1)
    }

    fn pop(&mut self) -> std::result::Result<(u64, u32), String> {
        match self.stack.pop() {
            Some(Entry::Object { bytes, depth }) => {
                self.live -= bytes;
                Ok((bytes, depth))
            }
            Some(Entry::Mark) => Err("an object was expected where a MARK is".into()),
            None => Err("the stack is empty".into()),
        }
    }

    fn pop_n(&mut self, n: usize) -> std::result::Result<Vec<(u64, u32)>, String> {
        (0..n).map(|_| self.pop()).collect()
    }

    fn pop_to_mark(&mut self) -> std::result::Result<Vec<(u64, u32)>, String> {
        let mut items = Vec::new();
        loop {
            match self.stack.pop() {
                Some(Entry::Mark) => return Ok(items),
                Some(Entry::Object { bytes, depth }) => {
                    self.live -= bytes;
                    items.push((bytes, depth));
                }
                None => return Err("no MARK to pop to".into()),
            }
        }
    }

    /// A new container of `items`.
    fn combine(&mut self, items: &[(u64, u32)]) -> std::result::Result<(), String> {
        let bytes = items.iter().fold(NODE_BYTES, |acc, (b, _)| acc.saturating_add(*b));
        let depth = items.iter().map(|(_, d)| *d).max().unwrap_or(0) + 1;
        self.push(bytes, depth)
    }

    /// `items` go into the container on top of the stack (APPEND, SETITEM, BUILD, ...).
    fn extend_top(&mut self, items: &[(u64, u32)]) -> std::result::Result<(), String> {
        let (bytes, depth) = self.pop()?;
        let added = items.iter().fold(0u64, |acc, (b, _)| acc.saturating_add(*b));
        let inner = items.iter().map(|(_, d)| *d + 1).max().unwrap_or(0);
        self.push(bytes.saturating_add(added), depth.max(inner))
    }

    fn memo_get(&mut self, id: u32) -> std::result::Result<(), String> {
        let (bytes, depth) = *self.memo.get(&id).ok_or_else(|| format!("memo entry {id} is fetched before it is stored"))?;
        // candle clones the memoized object: the copy costs its full size again.
        self.push(bytes, depth)
    }

    fn memo_put(&mut self, id: u32) -> std::result::Result<(), String> {
        let Some(Entry::Object { bytes, depth }) = self.stack.last().copied() else {
            return Err("nothing to memoize".into());
        };
        if let Some((old, _)) = self.memo.insert(id, (bytes, depth)) {
            self.live -= old;
        }
        self.live = self.live.saturating_add(bytes);
        if self.live > MAX_PICKLE_TREE_BYTES {
            return Err(format!("its objects would take more than {MAX_PICKLE_TREE_BYTES} bytes of memory"));
        }
        Ok(())
    }

    /// One opcode; `Ok(true)` at STOP. The set is the one candle's reader understands; anything
    /// else is refused here as it would be there.
    fn step(&mut self, op: u8) -> std::result::Result<bool, String> {
        match op {
            0x80 => {
                self.byte()?;
            }
            b'c' => {
                let a = self.line()?;
                let b = self.line()?;
                self.leaf(a + b)?;
            }
            b'K' => {
                self.take(1)?;
                self.leaf(0)?;
            }
            b'M' => {
                self.take(2)?;
                self.leaf(0)?;
            }
            b'J' => {
                self.take(4)?;
                self.leaf(0)?;
            }
            b'G' => {
                self.take(8)?;
                self.leaf(0)?;
            }
            0x8a => {
                let n = self.byte()? as usize;
                if n > 8 {
                    return Err(format!("a LONG1 of {n} bytes does not fit 64 bits"));
                }
                self.take(n)?;
                self.leaf(0)?;
            }
            b'X' => {
                let n = self.u32_le()? as usize;
                self.take(n)?;
                self.leaf(n)?;
            }
            b'Q' => {
                let id = self.pop()?;
                self.combine(&[id])?;
            }
            b't' | b'd' => {
                let items = self.pop_to_mark()?;
                self.combine(&items)?;
            }
            0x85 => {
                let items = self.pop_n(1)?;
                self.combine(&items)?;
            }
            0x86 => {
                let items = self.pop_n(2)?;
                self.combine(&items)?;
            }
            0x87 => {
                let items = self.pop_n(3)?;
                self.combine(&items)?;
            }
            0x88 | 0x89 | b'N' | b'}' | b')' | b']' => self.leaf(0)?,
            b'a' => {
                let items = self.pop_n(1)?;
                self.extend_top(&items)?;
            }
            b's' => {
                let items = self.pop_n(2)?;
                self.extend_top(&items)?;
            }
            b'e' | b'u' => {
                let items = self.pop_to_mark()?;
                self.extend_top(&items)?;
            }
            b'b' => {
                let items = self.pop_n(1)?;
                self.extend_top(&items)?;
            }
            b'(' => self.stack.push(Entry::Mark),
            b'R' | 0x81 => {
                let items = self.pop_n(2)?;
                self.combine(&items)?;
            }
            b'h' => {
                let id = self.byte()? as u32;
                self.memo_get(id)?;
            }
            b'j' => {
                let id = self.u32_le()?;
                self.memo_get(id)?;
            }
            b'q' => {
                let id = self.byte()? as u32;
                self.memo_put(id)?;
            }
            b'r' => {
                let id = self.u32_le()?;
                self.memo_put(id)?;
            }
            b'.' => return Ok(true),
            other => return Err(format!("opcode 0x{other:02x} is not one a PyTorch checkpoint uses")),
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pickle: &[u8], ok: bool, why: &str) {
        let result = check_pickle(pickle);
        assert_eq!(result.is_ok(), ok, "{result:?}");
        if let Err(message) = result {
            assert!(message.contains(why), "{message:?} should say {why:?}");
        }
    }

    #[test]
    fn ordinary_pickles_pass() {
        // {"a": (1, 2.0, "x")} with a memoized key, as protocol 2 writes it.
        let mut p = vec![0x80, 2, b'}', b'q', 0, b'X', 1, 0, 0, 0, b'a', b'q', 1, b'K', 1, b'G'];
        p.extend_from_slice(&2.0f64.to_be_bytes());
        p.extend_from_slice(&[b'X', 1, 0, 0, 0, b'x', 0x87, b's', b'h', 1, b'.']);
        // The trailing BINGET leaves an object on the stack, which is harmless.
        check(&p, true, "");
    }

    #[test]
    fn memo_doubling_is_refused() {
        let mut p = vec![0x80, 2, b'X', 4, 0, 0, 0, b'a', b'b', b'c', b'd', b'q', 0];
        for _ in 0..64 {
            p.extend_from_slice(&[b'h', 0, b'h', 0, 0x86, b'q', 0]);
        }
        p.push(b'.');
        check(&p, false, "bytes of memory");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut p = vec![0x80, 2, b'N'];
        p.extend(std::iter::repeat_n(0x85, MAX_PICKLE_DEPTH as usize + 1));
        p.push(b'.');
        check(&p, false, "deeper than");
    }

    #[test]
    fn declared_lengths_beyond_the_data_are_refused() {
        check(&[0x80, 2, b'X', 0xff, 0xff, 0xff, 0x7f, b'a'], false, "only 1 are left");
        check(&[0x80, 2, b'N'], false, "without a STOP");
        check(&[0x80, 2, b'h', 3, b'.'], false, "before it is stored");
        check(&[0x80, 2, b'i', b'.'], false, "not one a PyTorch checkpoint uses");
        check(b"t.", false, "no MARK");
    }
}
