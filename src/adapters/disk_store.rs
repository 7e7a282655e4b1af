//! A [`SampleStore`] on the local disk.
//!
//! Files are written atomically (a hidden temporary file in the same directory, flushed, then
//! renamed), readable only by the service's user (mode 0600), under names the service makes
//! from the time and a random id — never from request text, so no request can choose a path.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::domain::UtcDateTime;
use crate::ports::{SampleStore, SampleStoreError, SampleToStore, StoredSample};

/// Keeps samples as files in one directory.
#[derive(Debug, Clone)]
pub struct DiskSampleStore {
    directory: PathBuf,
}

impl DiskSampleStore {
    /// Opens (creating, mode 0700, when missing) the directory and checks that it is writable,
    /// so that a misconfigured path stops start-up instead of failing calls later.
    ///
    /// # Errors
    /// The I/O error, with the path in its message.
    pub fn open(directory: impl Into<PathBuf>) -> io::Result<Self> {
        let directory = directory.into();
        let with_path =
            |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", directory.display()));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&directory)
            .map_err(with_path)?;
        let probe = directory.join(format!(".write-check-{}", uuid::Uuid::new_v4().simple()));
        write_private(&probe, b"").map_err(with_path)?;
        fs::remove_file(&probe).map_err(with_path)?;
        Ok(Self { directory })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn write_atomically(directory: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let temporary = directory.join(format!(".{name}.tmp"));
    let result = write_private(&temporary, bytes)
        .and_then(|()| fs::rename(&temporary, directory.join(name)));
    if result.is_err() {
        // Best effort: a half-written temporary file must not pile up on a full disk.
        let _ = fs::remove_file(&temporary);
    }
    result
}

#[async_trait]
impl SampleStore for DiskSampleStore {
    async fn save(&self, sample: SampleToStore<'_>) -> Result<StoredSample, SampleStoreError> {
        let at = UtcDateTime::from_unix(sample.received_at);
        let name = format!(
            "{}_{}.{}",
            at.compact(),
            uuid::Uuid::new_v4().simple(),
            sample.sample.format().extension()
        );
        let directory = self.directory.clone();
        let bytes = sample.sample.bytes().clone();
        let file_name = name.clone();
        tokio::task::spawn_blocking(move || write_atomically(&directory, &file_name, &bytes))
            .await
            .map_err(|e| io::Error::other(format!("storage task failed: {e}")))??;
        Ok(StoredSample { key: name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_the_directory_on_open() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        DiskSampleStore::open(&dir).unwrap();
        assert!(dir.is_dir());
    }

    #[test]
    fn fails_to_open_where_it_cannot_write_naming_the_path() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = DiskSampleStore::open(file.join("sub")).unwrap_err();
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }

    #[test]
    fn writes_private_files_atomically() {
        let root = tempfile::tempdir().unwrap();
        write_atomically(root.path(), "x.wav", b"RIFF").unwrap();
        let path = root.path().join("x.wav");
        assert_eq!(fs::read(&path).unwrap(), b"RIFF");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
