//! Bounded memory: kcc never holds more than [`LIMIT`] bytes, whatever its input.
//!
//! Fuel bounds the steps of a template, not the bytes it builds, and renders run in
//! parallel. So the binary's global allocator is [`Bounded`]: it counts live bytes (in
//! per-thread batches, so that the count costs one thread-local add per allocation) and
//!
//! - a template render that makes kcc hold more than [`TEMPLATE_LIMIT`] fails at the
//!   template, as `resource/memory` (the renderer asks [`over_budget`] at each output, filter
//!   and `range` step);
//! - any allocation that would take kcc past [`LIMIT`] stops it: the files it was writing
//!   are removed ([`crate::interrupt`]), a message on stderr says what it was doing
//!   ([`Doing`]), and it exits 2 without flushing any output.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// The most kcc ever holds: the real fleet needs about an eighth of it. Its resident memory
/// stays well under 1 GB with the allocator's own overhead.
pub const LIMIT: usize = 512 << 20;

/// A template render that makes kcc hold more than this fails at the template.
pub const TEMPLATE_LIMIT: usize = 256 << 20;

/// A render is blamed only if its own thread allocated at least this much of it: a
/// template rendered beside one that explodes is not at fault.
const OWN_MIN: isize = 64 << 20;

/// Each thread adds its allocations to [`LIVE`] once they amount to this much (either
/// way): the count is exact to within this much per thread.
const BATCH: isize = 256 << 10;

/// Live bytes, as far as the threads have reported them.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Set by the thread that stops kcc: allocations go through from then on (the message and
/// the clean-up may allocate), until the process exits.
static STOPPING: AtomicBool = AtomicBool::new(false);

struct Counts {
    /// Not yet added to [`LIVE`].
    pending: Cell<isize>,
    /// Allocated minus freed by this thread, ever.
    own: Cell<isize>,
}

thread_local! {
    static COUNTS: Counts = const {
        Counts { pending: Cell::new(0), own: Cell::new(0) }
    };
    /// What this thread is doing, for the message if kcc has to stop.
    static DOING: RefCell<String> = const { RefCell::new(String::new()) };
    /// `own` when the current template render started, if one is running.
    static BUDGET_START: Cell<Option<isize>> = const { Cell::new(None) };
    /// The current template render went over [`TEMPLATE_LIMIT`].
    static TRIPPED: Cell<bool> = const { Cell::new(false) };
}

/// A global allocator that counts live bytes and stops kcc past [`LIMIT`].
pub struct Bounded<A>(pub A);

/// Counts `delta` bytes; false if kcc would then hold more than [`LIMIT`].
#[inline]
fn count(delta: isize) -> bool {
    COUNTS.with(|c| {
        c.own.set(c.own.get() + delta);
        let pending = c.pending.get() + delta;
        if pending < BATCH && pending > -BATCH {
            c.pending.set(pending);
            return true;
        }
        c.pending.set(0);
        let live = LIVE.fetch_add(pending, Relaxed) + pending;
        live <= LIMIT as isize || delta <= 0 || STOPPING.load(Relaxed)
    })
}

unsafe impl<A: GlobalAlloc> GlobalAlloc for Bounded<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !count(layout.size() as isize) {
            stop(layout.size());
        }
        unsafe { self.0.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !count(layout.size() as isize) {
            stop(layout.size());
        }
        unsafe { self.0.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !count(new_size as isize - layout.size() as isize) {
            stop(new_size);
        }
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// Stops kcc: removes the files it was writing, says why on stderr, exits 2. Runs inside
/// the allocator, so it must not unwind; it formats on the stack and writes with write(2).
#[cold]
fn stop(size: usize) -> ! {
    if STOPPING.swap(true, Relaxed) {
        // Another thread is stopping kcc; it exits in a moment.
        loop {
            std::thread::park();
        }
    }
    crate::interrupt::remove_now();
    let mut message = StackText::default();
    let _ = std::fmt::Write::write_fmt(
        &mut message,
        format_args!(
            "error[resource/memory]: kcc stopped: allocating {} MiB more would take it past its memory limit of {} MiB",
            size.div_ceil(1 << 20),
            LIMIT >> 20
        ),
    );
    let _ = DOING.try_with(|doing| {
        if let Ok(doing) = doing.try_borrow()
            && !doing.is_empty()
        {
            let _ = std::fmt::Write::write_fmt(&mut message, format_args!(", while {doing}"));
        }
    });
    let _ = std::fmt::Write::write_str(
        &mut message,
        "\n  = note: an exploding loop or macro in a template is the usual cause; the files kcc was writing are removed\n",
    );
    // SAFETY: writes bytes we own to stderr, then ends the process without running
    // anything else (no output buffer is flushed: no half output).
    unsafe {
        libc::write(2, message.bytes.as_ptr().cast(), message.len);
        libc::_exit(2)
    }
}

/// A message built without allocating (cut at its capacity).
struct StackText {
    bytes: [u8; 1024],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 1024],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The live bytes kcc holds (exact to within a few hundred KiB per thread; 0 when the
/// binary's allocator is not [`Bounded`], as in unit tests).
pub fn live() -> usize {
    LIVE.load(Relaxed).max(0) as usize
}

/// What this thread is doing, named in the message if kcc has to stop; undone on drop.
pub struct Doing {
    len: usize,
}

/// Adds `what` to what this thread is doing (" (…)" after what it already was doing).
pub fn doing(what: std::fmt::Arguments) -> Doing {
    DOING.with(|doing| {
        let mut doing = doing.borrow_mut();
        let len = doing.len();
        let _ = if len == 0 {
            std::fmt::Write::write_fmt(&mut *doing, what)
        } else {
            std::fmt::Write::write_fmt(&mut *doing, format_args!(" ({what})"))
        };
        Doing { len }
    })
}

impl Drop for Doing {
    fn drop(&mut self) {
        DOING.with(|doing| doing.borrow_mut().truncate(self.len));
    }
}

/// The memory budget of one template render on this thread (see [`over_budget`]).
pub struct Budget(());

impl Budget {
    pub fn start() -> Budget {
        BUDGET_START.with(|s| s.set(Some(COUNTS.with(|c| c.own.get()))));
        TRIPPED.with(|t| t.set(false));
        Budget(())
    }

    /// Whether the render went over its budget (once [`over_budget`] said so).
    pub fn exceeded(&self) -> bool {
        TRIPPED.with(Cell::get)
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        BUDGET_START.with(|s| s.set(None));
        TRIPPED.with(|t| t.set(false));
    }
}

/// Whether the template render running on this thread must stop: kcc holds more than
/// [`TEMPLATE_LIMIT`], and this render allocated a good part of it. Cheap (two loads) when
/// kcc is under the limit.
#[inline]
pub fn over_budget() -> bool {
    if live() <= TEMPLATE_LIMIT {
        return TRIPPED.with(Cell::get);
    }
    let Some(start) = BUDGET_START.with(Cell::get) else {
        return false;
    };
    let own = COUNTS.with(|c| c.own.get()) - start;
    if own >= OWN_MIN {
        TRIPPED.with(|t| t.set(true));
    }
    TRIPPED.with(Cell::get)
}
