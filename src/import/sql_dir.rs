//! Where one run's SQL files are written. They carry password hashes, so the directory is the
//! operator's alone (0700, each file 0600, from the moment it exists) and is removed with
//! everything in it however the run ends: success, an error, a panic, or an interruption that
//! the importer turns into an error (src/import/command.rs). `--keep-sql` keeps it.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::ImportError;

/// The directory of a run's SQL files; removed when dropped, unless kept.
#[derive(Debug)]
pub struct SqlDir {
    path: PathBuf,
    keep: bool,
}

/// `<SRC>.d1-sql`, beside the source.
pub fn sql_dir_path(src: &Path) -> PathBuf {
    let mut name = src.file_name().unwrap_or_default().to_os_string();
    name.push(".d1-sql");
    src.with_file_name(name)
}

impl SqlDir {
    /// Creates the directory, readable by its owner only.
    ///
    /// # Errors
    /// When it cannot be created, or already exists: files of another run (one kept with
    /// `--keep-sql`, or one killed outright) are never mixed with this run's or removed
    /// unseen.
    pub fn create(path: PathBuf, keep: bool) -> Result<Self, ImportError> {
        let mut builder = DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                ImportError::Source(format!(
                    "{} exists (SQL files of an earlier run, with password hashes): remove it, \
                     then run again",
                    path.display()
                ))
            } else {
                ImportError::Io(path.clone(), e)
            }
        })?;
        Ok(Self { path, keep })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a new file `name` in the directory, readable by its owner only from its creation.
    ///
    /// # Errors
    /// When the file exists or cannot be written.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf, ImportError> {
        let path = self.path.join(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .and_then(|mut f| f.write_all(contents.as_bytes()))
            .map_err(|e| ImportError::Io(path.clone(), e))?;
        Ok(path)
    }

    /// Removes the directory now (unless kept), reporting a failure, which dropping cannot.
    ///
    /// # Errors
    /// When it cannot be removed.
    pub fn close(mut self) -> Result<(), ImportError> {
        let keep = std::mem::replace(&mut self.keep, true);
        if keep {
            return Ok(());
        }
        std::fs::remove_dir_all(&self.path).map_err(|e| ImportError::Io(self.path.clone(), e))
    }
}

impl Drop for SqlDir {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "import: could not remove {} ({e}): it holds password hashes, delete it",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("edge-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn sql_files_are_readable_by_their_owner_only() {
        let base = scratch("sqldir-mode");
        let dir = SqlDir::create(sql_dir_path(&base.join("users.db")), true).unwrap();
        let file = dir.write("batch-00001.sql", "SELECT 1;\n").unwrap();
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&file), 0o600);
        drop(dir);
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn the_directory_goes_on_an_error_and_a_panic_and_stays_only_when_kept() {
        let base = scratch("sqldir-exit");
        let path = sql_dir_path(&base.join("users.db"));
        // A run that fails after writing its file: `?` drops the directory on the way out.
        let failing = || -> Result<(), ImportError> {
            let dir = SqlDir::create(path.clone(), false)?;
            dir.write("batch-00001.sql", "INSERT …;\n")?;
            assert!(path.join("batch-00001.sql").exists());
            Err(ImportError::Source("wrangler d1 execute failed".into()))
        };
        assert!(failing().is_err());
        assert!(!path.exists());
        // A panic unwinds through it too.
        let panicking = std::panic::catch_unwind(|| {
            let dir = SqlDir::create(path.clone(), false).unwrap();
            dir.write("batch-00001.sql", "INSERT …;\n").unwrap();
            panic!("after the file was written");
        });
        assert!(panicking.is_err());
        assert!(!path.exists());
        // Success closes it; kept, it stays, and the next run refuses to write beside it.
        let dir = SqlDir::create(path.clone(), false).unwrap();
        dir.write("batch-00001.sql", "INSERT …;\n").unwrap();
        dir.close().unwrap();
        assert!(!path.exists());
        let kept = SqlDir::create(path.clone(), true).unwrap();
        kept.write("batch-00001.sql", "INSERT …;\n").unwrap();
        drop(kept);
        assert!(path.join("batch-00001.sql").exists());
        let again = SqlDir::create(path.clone(), false).unwrap_err().to_string();
        assert!(again.contains("exists"), "{again}");
        assert!(
            path.join("batch-00001.sql").exists(),
            "never removed unseen"
        );
        std::fs::remove_dir_all(base).unwrap();
    }
}
