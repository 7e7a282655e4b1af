//! Where log lines go on their way to stdout (or `LOG_DIR`): appended to a buffer in memory by
//! the thread that logs, and written out in batches by a thread of their own at most
//! [`FLUSH_INTERVAL`] later.
//!
//! Why not a channel to a writer thread (`tracing_appender::non_blocking`): it woke its
//! thread for every line, and on the one core a webhook's two lines cost the request three
//! context switches; a floor-bench run at `LOG_LEVEL=WARN` used 12 % less CPU per multipart
//! webhook than one at `INFO`. Here the writer thread is woken once per batch.
//!
//! Never lossy: past [`MAX_PENDING_BYTES`] (stdout blocked by a slow reader) the logging
//! thread waits for the batch to be written, as a full channel made it wait before.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// A batch is written at once when it reaches this many bytes.
const EARLY_FLUSH_BYTES: usize = 256 * 1024;

/// Logging threads wait while this much is waiting to be written.
const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer thread: the first bytes of a batch, a full batch, or closing.
    to_writer: Condvar,
    /// Wakes logging threads waiting for room.
    written: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // The lock only guards appends and swaps of a byte buffer: a panic while it is held
        // leaves nothing half-done.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A `MakeWriter` for the `tracing` formatter; every event's formatted line is one write.
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Writes out what is pending and stops the writer thread when dropped: keep it until exit.
pub struct BatchedWriterGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchedWriter {
    /// Starts the thread `name` that writes batches to `out`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start<W>(out: W, name: &str) -> std::io::Result<(Self, BatchedWriterGuard)>
    where
        W: Write + Send + 'static,
    {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn({
            let shared = Arc::clone(&shared);
            move || write_batches(&shared, out)
        })?;
        let guard = BatchedWriterGuard {
            shared: Arc::clone(&shared),
            thread: Some(thread),
        };
        Ok((Self { shared }, guard))
    }
}

fn write_batches<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let closing = {
            let mut pending = shared.lock();
            while pending.bytes.is_empty() && !pending.closing {
                pending = shared
                    .to_writer
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            // Gather what else arrives within the interval, unless the batch is already big.
            if !pending.closing && pending.bytes.len() < EARLY_FLUSH_BYTES {
                pending = shared
                    .to_writer
                    .wait_timeout_while(pending, FLUSH_INTERVAL, |p| {
                        !p.closing && p.bytes.len() < EARLY_FLUSH_BYTES
                    })
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            // Swapped, not copied: the two buffers keep their capacity between batches.
            batch.clear();
            std::mem::swap(&mut batch, &mut pending.bytes);
            pending.closing
        };
        shared.written.notify_all();
        // Nowhere to report a failed write of the log itself; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        if closing {
            return;
        }
    }
}

/// One event's line, appended to the pending batch.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.lock();
        while pending.bytes.len() >= MAX_PENDING_BYTES && !pending.closing {
            pending = self
                .shared
                .written
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        let full = pending.bytes.len() >= EARLY_FLUSH_BYTES;
        drop(pending);
        if was_empty || full {
            self.shared.to_writer.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

impl Drop for BatchedWriterGuard {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.to_writer.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A `Write` that hands every write it gets to the test.
    struct Sink(mpsc::Sender<Vec<u8>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.send(bytes.to_vec());
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn line(writer: &BatchedWriter, text: &str) {
        writer
            .make_writer()
            .write_all(text.as_bytes())
            .expect("an in-memory write");
    }

    #[test]
    fn lines_logged_together_are_written_in_batches_in_order() {
        let (sent, received) = mpsc::channel();
        let (writer, _guard) = BatchedWriter::start(Sink(sent), "log-test").expect("a thread");
        for n in 0..100 {
            line(&writer, &format!("line {n}\n"));
        }
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        let (mut written, mut writes) = (Vec::new(), 0);
        while written.len() < expected.len() {
            let batch = received
                .recv_timeout(FLUSH_INTERVAL * 100)
                .expect("every line is written");
            written.extend(batch);
            writes += 1;
        }
        assert_eq!(
            String::from_utf8_lossy(&written),
            expected,
            "in order, none lost"
        );
        // Usually one write; a test thread descheduled mid-way may split the batch.
        assert!(
            writes < 100,
            "batched, not a write per line: {writes} writes"
        );
    }

    #[test]
    fn dropping_the_guard_writes_what_is_pending() {
        let (sent, received) = mpsc::channel();
        let (writer, guard) = BatchedWriter::start(Sink(sent), "log-test").expect("a thread");
        line(&writer, "the last words\n");
        drop(guard);
        let written: Vec<u8> = received.try_iter().flatten().collect();
        assert_eq!(String::from_utf8_lossy(&written), "the last words\n");
    }

    #[test]
    fn a_batch_past_the_early_flush_size_is_written_whole() {
        let (sent, received) = mpsc::channel();
        let (writer, _guard) = BatchedWriter::start(Sink(sent), "log-test").expect("a thread");
        let long = "x".repeat(EARLY_FLUSH_BYTES);
        line(&writer, &long);
        let batch = received
            .recv_timeout(FLUSH_INTERVAL * 20)
            .expect("the batch is written");
        assert_eq!(batch.len(), EARLY_FLUSH_BYTES);
    }
}
