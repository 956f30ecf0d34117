//! The fast mode's products on AMX tiles (Intel Xeons from Sapphire Rapids on: AMX-TILE and
//! AMX-BF16), where one `tdpbf16ps` multiplies a 16 × 32 bf16 tile by a 32 × 16 one into 16 × 16
//! f32 sums: eight times the work of an AVX512_BF16 instruction.
//!
//! The weights are [`super::PackedWeight`]'s panels as they are: a panel's pairs, 32 columns of
//! two values each (128 bytes a pair), are 16-pair × 16-column B tiles at a stride of 128 bytes,
//! the operand layout `tdpbf16ps` takes. An output block is 32 rows × one panel in four
//! accumulator tiles (tmm0–3), fed by two A tiles (tmm4–5: 16 rows × 16 pairs of activations)
//! and two B tiles (tmm6–7) per 16 pairs of the inner dimension.
//!
//! Three guards, because a tile instruction that faults kills the process: the CPU must say it
//! has AMX-TILE and AMX-BF16 (CPUID); Linux must grant this process the tile state
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM)`; it refuses, for one, when a thread's signal stack is too
//! small for it); and once per process a forked child runs one block on the tiles and compares
//! it with the same block computed by [`Emulated`], so a fault or a wrong result costs a child,
//! never the process. Any guard failing, the fast mode runs on AVX512_BF16 instead, and
//! [`state`] says why. `SELECTRA_NO_AMX` set in the environment (any value) skips AMX too.

/// Rows of every tile, and values of 4 bytes per tile row (16 f32, or 16 bf16 pairs).
pub(super) const TILE: usize = 16;
/// Output rows per block: two tiles of rows.
pub(super) const BLOCK_ROWS: usize = 2 * TILE;

/// One output block's tile work (32 rows × 32 columns), on the hardware or emulated.
pub(super) trait Tiles {
    /// Loads the four accumulators from `c` (32 rows of 32 f32, `ldc` values apart).
    ///
    /// # Safety
    /// `c` readable for 32 rows of `ldc ≥ 32` values.
    unsafe fn load(&mut self, c: *const f32, ldc: usize);
    /// Adds 16 pairs of the inner dimension: `a` is 32 rows of 16 pairs (`lda` pairs apart),
    /// `b` 16 pairs of a panel (`ldb` values apart, each pair 32 columns × 2 values).
    ///
    /// # Safety
    /// `a` readable for 32 rows of `lda ≥ 16` pairs; `b` for 16 rows of `ldb ≥ 64` values.
    unsafe fn step(&mut self, a: *const u32, lda: usize, b: *const u16, ldb: usize);
    /// Stores the four accumulators to `c` (as [`Tiles::load`] reads them).
    ///
    /// # Safety
    /// `c` writable for 32 rows of `ldc ≥ 32` values.
    unsafe fn store(&mut self, c: *mut f32, ldc: usize);
}

/// `c = c + a · b` over `steps` × 16 pairs, for one block: `c` 32 rows of 32 f32 (`ldc` apart),
/// `a` 32 rows of `steps * 16` pairs (`lda` apart), `b` a panel from its first pair on (64
/// values a pair).
///
/// # Safety
/// As [`Tiles::load`], [`Tiles::step`] and [`Tiles::store`] on those sizes.
pub(super) unsafe fn block<T: Tiles>(tiles: &mut T, a: *const u32, lda: usize, b: *const u16, steps: usize, c: *mut f32, ldc: usize) {
    const PAIR: usize = 2 * super::PANEL;
    tiles.load(c, ldc);
    for s in 0..steps {
        tiles.step(a.add(s * TILE), lda, b.add(s * TILE * PAIR), PAIR);
    }
    tiles.store(c, ldc);
}

/// The tiles' arithmetic in plain Rust, as Intel's manual states `tdpbf16ps` (for each
/// accumulator value, each pair of the inner dimension in order: the even product added, then
/// the odd one, in f32): what the hardware is checked against, in the forked child and in tests.
#[cfg_attr(not(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")), allow(dead_code))]
pub(super) struct Emulated {
    c: [[f32; TILE * TILE]; 4],
}

impl Default for Emulated {
    fn default() -> Self {
        Self { c: [[0.0; TILE * TILE]; 4] }
    }
}

/// Where value `i` of accumulator `t` lies in a block `ldc` values apart (the accumulators are
/// its top left, top right, bottom left and bottom right 16 × 16 quarters).
fn in_block(t: usize, i: usize, ldc: usize) -> usize {
    ((t / 2) * TILE + i / TILE) * ldc + (t % 2) * TILE + i % TILE
}

impl Tiles for Emulated {
    unsafe fn load(&mut self, c: *const f32, ldc: usize) {
        for (t, tile) in self.c.iter_mut().enumerate() {
            for (i, v) in tile.iter_mut().enumerate() {
                *v = *c.add(in_block(t, i, ldc));
            }
        }
    }

    unsafe fn step(&mut self, a: *const u32, lda: usize, b: *const u16, ldb: usize) {
        let bf = |bits: u16| half::bf16::from_bits(bits).to_f32();
        for (t, tile) in self.c.iter_mut().enumerate() {
            let (r0, c0) = ((t / 2) * TILE, (t % 2) * TILE);
            for m in 0..TILE {
                for k in 0..TILE {
                    let pair = *a.add((r0 + m) * lda + k);
                    let (even, odd) = (bf(pair as u16), bf((pair >> 16) as u16));
                    for n in 0..TILE {
                        let w = b.add(k * ldb + 2 * (c0 + n));
                        let v = &mut tile[m * TILE + n];
                        *v += even * bf(*w);
                        *v += odd * bf(*w.add(1));
                    }
                }
            }
        }
    }

    unsafe fn store(&mut self, c: *mut f32, ldc: usize) {
        for (t, tile) in self.c.iter().enumerate() {
            for (i, v) in tile.iter().enumerate() {
                *c.add(in_block(t, i, ldc)) = *v;
            }
        }
    }
}

/// Whether the fast mode's products run on AMX in this process (checked once).
pub fn available() -> bool {
    state().is_ok()
}

/// `Ok` where AMX runs the fast mode's products, else why not (for people: the benchmark
/// harness prints it).
pub fn state() -> &'static std::result::Result<(), String> {
    static STATE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    STATE.get_or_init(hardware::enable)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
pub(super) mod hardware {
    use std::arch::asm;

    use super::{Emulated, Tiles, BLOCK_ROWS, TILE};

    /// `arch_prctl` requests (arch/x86/include/uapi/asm/prctl.h) and the tile data's state
    /// component.
    const ARCH_REQ_XCOMP_PERM: libc::c_ulong = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_ulong = 18;

    /// The tile configuration `ldtilecfg` reads: palette 1, tiles 0–7 each 16 rows of 64 bytes.
    #[repr(C, align(64))]
    struct Config {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        bytes_per_row: [u16; 16],
        rows: [u8; 16],
    }

    thread_local! {
        /// How many [`Hardware`] values this thread holds. The first configures the tiles and
        /// the last releases them, so a nested one (a pool job run on this thread while an
        /// activation of the outer one waits) leaves the outer one's configuration in place; no
        /// tile register holds anything between [`super::block`] calls, which is what makes
        /// sharing them safe.
        static HELD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    /// The tile registers, configured for [`Tiles`] while this lives (one thread's).
    pub struct Hardware(());

    impl Hardware {
        /// # Safety
        /// [`super::available`] (or, inside [`enable`], the CPU's flags and the kernel's grant).
        pub unsafe fn new() -> Self {
            if HELD.get() == 0 {
                let mut config = Config { palette: 1, start_row: 0, reserved: [0; 14], bytes_per_row: [0; 16], rows: [0; 16] };
                for t in 0..8 {
                    config.bytes_per_row[t] = (TILE * 4) as u16;
                    config.rows[t] = TILE as u8;
                }
                asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly));
            }
            HELD.set(HELD.get() + 1);
            Hardware(())
        }
    }

    impl Drop for Hardware {
        fn drop(&mut self) {
            HELD.set(HELD.get() - 1);
            if HELD.get() == 0 {
                // SAFETY: the tiles were configured by the first `new`; releasing them returns
                // the thread to the init state.
                unsafe { asm!("tilerelease", options(nostack, nomem)) };
            }
        }
    }

    impl Tiles for Hardware {
        unsafe fn load(&mut self, c: *const f32, ldc: usize) {
            asm!(
                "tileloadd tmm0, [{c} + {s}*1]",
                "tileloadd tmm1, [{c} + {s}*1 + 64]",
                "tileloadd tmm2, [{d} + {s}*1]",
                "tileloadd tmm3, [{d} + {s}*1 + 64]",
                c = in(reg) c,
                d = in(reg) c.add(TILE * ldc),
                s = in(reg) ldc * 4,
                options(nostack, readonly),
            );
        }

        unsafe fn step(&mut self, a: *const u32, lda: usize, b: *const u16, ldb: usize) {
            asm!(
                "tileloadd tmm4, [{a} + {sa}*1]",
                "tileloadd tmm5, [{a2} + {sa}*1]",
                "tileloadd tmm6, [{b} + {sb}*1]",
                "tileloadd tmm7, [{b} + {sb}*1 + 64]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                a = in(reg) a,
                a2 = in(reg) a.add(TILE * lda),
                sa = in(reg) lda * 4,
                b = in(reg) b,
                sb = in(reg) ldb * 2,
                options(nostack, readonly),
            );
        }

        unsafe fn store(&mut self, c: *mut f32, ldc: usize) {
            asm!(
                "tilestored [{c} + {s}*1], tmm0",
                "tilestored [{c} + {s}*1 + 64], tmm1",
                "tilestored [{d} + {s}*1], tmm2",
                "tilestored [{d} + {s}*1 + 64], tmm3",
                c = in(reg) c,
                d = in(reg) c.add(TILE * ldc),
                s = in(reg) ldc * 4,
                options(nostack),
            );
        }
    }

    /// The CPU's AMX-TILE and AMX-BF16 flags (CPUID leaf 7, EDX bits 24 and 22).
    fn cpu_has_amx_bf16() -> bool {
        // Leaf 7 is read only where the highest leaf reaches it.
        if std::arch::x86_64::__cpuid(0).eax < 7 {
            return false;
        }
        let edx = std::arch::x86_64::__cpuid_count(7, 0).edx;
        edx & (1 << 24) != 0 && edx & (1 << 22) != 0
    }

    /// The guards of the module's doc, in order; the first that fails says why.
    pub fn enable() -> std::result::Result<(), String> {
        if std::env::var_os("SELECTRA_NO_AMX").is_some() {
            return Err("AMX is turned off (SELECTRA_NO_AMX is set)".into());
        }
        if !cpu_has_amx_bf16() {
            return Err("this CPU has no AMX-BF16".into());
        }
        if !super::super::available() {
            return Err("this CPU has AMX but not the AVX512_BF16 conversions the kernel needs".into());
        }
        // SAFETY: a plain system call with two integer arguments.
        if unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) } != 0 {
            let error = std::io::Error::last_os_error();
            return Err(format!("Linux did not grant this process the AMX tile state ({error})"));
        }
        // SAFETY: the CPU has the tiles and the kernel granted them (above).
        self_check(|| unsafe { Hardware::new() })
    }

    /// One block over two steps, with strides other than the tiles' own, on `tiles` (the
    /// hardware's) in a forked child, compared with [`Emulated`]'s result.
    pub(crate) fn self_check<T: Tiles>(tiles: impl FnOnce() -> T) -> std::result::Result<(), String> {
        const LDA: usize = 3 * TILE;
        const STEPS: usize = 2;
        const LDC: usize = 40;
        // Positive operands with varied exponents (2^-7 to 2^8: no denormal products, no
        // cancellation, so the two may differ only by rounding, well inside the tolerance), bf16
        // bits made directly.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut bits = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let exponent = 0x3c00 + (((seed >> 20) & 0xf) as u16) * 128;
            exponent | ((seed >> 32) & 0x7f) as u16
        };
        let a: Vec<u32> = (0..BLOCK_ROWS * LDA).map(|_| u32::from(bits()) | (u32::from(bits()) << 16)).collect();
        let b: Vec<u16> = (0..STEPS * TILE * 2 * super::super::PANEL).map(|_| bits()).collect();
        let start: Vec<f32> = (0..BLOCK_ROWS * LDC).map(|i| (i % 7) as f32).collect();
        let mut want = start.clone();
        // SAFETY: the buffers have the sizes `block` reads and writes.
        unsafe { super::block(&mut Emulated::default(), a.as_ptr(), LDA, b.as_ptr(), STEPS, want.as_mut_ptr(), LDC) };
        let mut got = start;
        in_child(|| {
            // SAFETY: the buffers (the parent's, copied) have the sizes `block` reads and
            // writes.
            let mut tiles = tiles();
            unsafe { super::block(&mut tiles, a.as_ptr(), LDA, b.as_ptr(), STEPS, got.as_mut_ptr(), LDC) };
            drop(tiles);
            got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-5 * w.abs())
        })
        .map_err(|why| format!("the AMX self-check {why}"))
    }

    /// Runs `check` in a forked child: `Ok` when it returned true, else what happened to it.
    /// `check` must not allocate or take a lock (another thread of this process may have held
    /// one at the fork); it computes on what it owns, and the child exits.
    pub(crate) fn in_child(check: impl FnOnce() -> bool) -> std::result::Result<(), String> {
        // SAFETY: fork has no preconditions; the child only runs `check` and calls `_exit`.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("could not start ({})", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            let passed = check();
            // SAFETY: `_exit` ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(if passed { 0 } else { 1 }) };
        }
        let mut status = 0;
        loop {
            // SAFETY: waits for the child just started.
            if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
                break;
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                // E.g. a host that reaps its children itself (SIGCHLD ignored).
                return Err(format!("was lost ({error})"));
            }
        }
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Ok(())
        } else if libc::WIFSIGNALED(status) {
            Err(format!("died of signal {}", libc::WTERMSIG(status)))
        } else {
            Err("computed other values than the tiles should".into())
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu")))]
pub(super) mod hardware {
    use super::Tiles;

    /// Never made: [`enable`] fails where AMX is not supported.
    pub struct Hardware(());

    impl Hardware {
        pub unsafe fn new() -> Self {
            unreachable!("AMX is not enabled on this platform")
        }
    }

    impl Tiles for Hardware {
        unsafe fn load(&mut self, _: *const f32, _: usize) {}
        unsafe fn step(&mut self, _: *const u32, _: usize, _: *const u16, _: usize) {}
        unsafe fn store(&mut self, _: *mut f32, _: usize) {}
    }

    pub fn enable() -> std::result::Result<(), String> {
        Err("the fast mode runs on AMX on Linux only".into())
    }
}
