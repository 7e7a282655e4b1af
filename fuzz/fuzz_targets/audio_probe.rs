//! `SymphoniaProbe::probe` (the `AudioProbe` adapter) on arbitrary bytes, with the production
//! limits (3 s, 10 MB).
//!
//! symphonia panics on some damaged files and `probe` catches those panics by design. libFuzzer's
//! panic hook would abort on them before `catch_unwind` gets a chance, so `init` replaces it with
//! one that only remembers the last panic (and prints each new panic location once). A panic
//! that gets OUT of `probe` is a finding: it is printed and the process aborts, as usual.
//!
//! Checked on success: the sample keeps the input bytes, its format is what
//! `SymphoniaProbe::detect` says, and duration, sample rate and channel count are within the
//! documented bounds.
//!
//! This target found that symphonia 0.5.5 allocates up to 4 GiB from a length prefix in FLAC/OGG
//! comments and pictures and WAV INFO chunks; `probe` now checks those lengths first
//! (`src/adapters/symphonia_probe/lengths.rs`), and the reproducers are in
//! `tests/fixtures/audio/hostile/`.
#![no_main]

use std::cell::RefCell;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use precall_webhook::adapters::SymphoniaProbe;
use precall_webhook::domain::{SampleLimits, VoiceSampleError};
use precall_webhook::ports::AudioProbe;

const LIMITS: SampleLimits = SampleLimits {
    min_duration_seconds: 3.0,
    max_bytes: 10_000_000,
};

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}
static SEEN_LOCATIONS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map_or_else(|| "?".to_owned(), |l| format!("{}:{}", l.file(), l.line()));
        LAST_PANIC.with(|last| *last.borrow_mut() = info.to_string());
        let mut seen = SEEN_LOCATIONS.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(location) {
            eprintln!("[audio_probe] panic (caught unless reported below): {info}");
        }
    }));
}

/// `FUZZ_PRINT=1` prints each input's outcome (to inspect seeds and corpora with `-runs=0`).
fn print_outcomes() -> bool {
    static PRINT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("FUZZ_PRINT").is_some())
}

fuzz_target!(init: install_panic_hook(), |data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let detected = SymphoniaProbe::detect(data);
    let result = catch_unwind(AssertUnwindSafe(|| SymphoniaProbe.probe(bytes.clone(), &LIMITS)));
    let result = match result {
        Ok(result) => result,
        Err(_) => {
            let message = LAST_PANIC.with(|last| last.borrow().clone());
            eprintln!("[audio_probe] PANIC ESCAPED SymphoniaProbe::probe: {message}");
            std::process::abort();
        }
    };
    if print_outcomes() {
        eprintln!("{} bytes: {result:?}", data.len());
    }
    match result {
        Ok(sample) => {
            assert_eq!(sample.bytes(), &bytes);
            assert_eq!(Some(sample.format()), detected);
            let d = sample.duration_seconds();
            assert!((LIMITS.min_duration_seconds..=86_400.0).contains(&d), "{d}");
            assert!((1_000..=768_000).contains(&sample.sample_rate()));
            assert!((1..=32).contains(&sample.channels()));
        }
        Err(VoiceSampleError::Empty) => assert!(data.is_empty()),
        Err(VoiceSampleError::NotAudio) => assert_eq!(detected, None),
        Err(VoiceSampleError::TooLarge { .. }) => panic!("{} bytes is not too large", data.len()),
        Err(VoiceSampleError::TooShort { duration, .. }) => {
            assert!(duration.is_finite() && duration < LIMITS.min_duration_seconds);
        }
        Err(VoiceSampleError::Undecodable { format, reason }) => {
            assert_eq!(Some(format), detected);
            assert!(reason.chars().count() <= 120);
        }
    }
});
