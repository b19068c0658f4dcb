//! Atomic file writes: write to a hidden temporary name beside the target, then rename,
//! so a killed process never leaves a half-written file under the real name.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The temporary name `path` is written under before the rename.
fn temporary(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ))
}

/// Creates `path`'s parent folders, lets `write` fill a temporary file, then renames it
/// to `path`. On error the temporary file is removed and `path` is untouched.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = temporary(path);
    let result = File::create(&tmp).and_then(|mut f| write(&mut f)).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// Writes `bytes` to `path` atomically; with `sync`, flushes them to disk before the
/// rename (for files whose loss on power failure would cost hours of work).
pub fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    write_atomic_with(path, |f| {
        f.write_all(bytes)?;
        if sync { f.sync_all() } else { Ok(()) }
    })
}

/// Replaces the directory `dir` as a whole: `fill` writes the new contents into a
/// temporary sibling, which is then renamed into place. A half-written directory never
/// appears under `dir`: a crash leaves the old one there, or the new one, or (killed
/// between the two renames) none, with the old one kept as `.NAME.old-PID` beside it.
pub fn replace_dir_atomic(dir: &Path, fill: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    recover_dir(dir)?;
    let name = dir.file_name().map_or_else(|| "dir".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    if let Err(e) = fill(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // The old directory moves aside first: a directory cannot be renamed over a non-empty one.
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    // A leftover from a crash between the two renames below would block the first one.
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(&tmp, dir)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Undoes a [`replace_dir_atomic`] that was killed between its two renames: when `dir`
/// is missing and a `.NAME.old-PID` sibling is left by a process that is gone (on Linux,
/// no `/proc/PID`), the newest such sibling (the directory as it was before the
/// interrupted replacement) is renamed back to `dir`.
/// Returns whether it did. Readers of directories written that way call it first.
pub fn recover_dir(dir: &Path) -> io::Result<bool> {
    if dir.exists() {
        return Ok(false);
    }
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else { return Ok(false) };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    let prefix = format!(".{}.old-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else { return Ok(false) };
    // Only a swap whose writer is gone: a live one is between its renames right now, and
    // renaming its old directory back would make its second rename fail.
    let writer_gone = |name: &str| {
        let pid = name.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok());
        pid.is_none_or(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists())
    };
    let newest = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && e.path().is_dir() && (cfg!(not(target_os = "linux")) || writer_gone(&name))
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
    match newest {
        Some(entry) => std::fs::rename(entry.path(), dir).map(|()| true),
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_writes_leave_neither_target_nor_temporary() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("synthgym-fs-{}", std::process::id()));
        let path = dir.join("sub").join("x.bin");
        write_atomic(&path, b"one", false)?;
        assert_eq!(std::fs::read(&path)?, b"one");
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path)?, b"one", "the old file survives a failed rewrite");
        let names: Vec<_> = std::fs::read_dir(dir.join("sub"))?.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary left behind: {names:?}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn directories_are_replaced_whole_or_not_at_all() -> io::Result<()> {
        let root = std::env::temp_dir().join(format!("synthgym-fs-dir-{}", std::process::id()));
        let dir = root.join("ckpt");
        replace_dir_atomic(&dir, |tmp| std::fs::write(tmp.join("a"), b"1"))?;
        replace_dir_atomic(&dir, |tmp| std::fs::write(tmp.join("b"), b"2"))?;
        assert!(!dir.join("a").exists() && dir.join("b").exists(), "the new contents replace the old");
        let failed = replace_dir_atomic(&dir, |tmp| {
            std::fs::write(tmp.join("c"), b"3")?;
            Err(io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert!(dir.join("b").exists() && !dir.join("c").exists(), "a failed fill leaves the old directory");
        let names: Vec<_> = std::fs::read_dir(&root)?.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary left behind: {names:?}");
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }

    #[test]
    fn a_swap_killed_between_its_renames_is_undone_on_the_next_read_or_write() -> io::Result<()> {
        let root = std::env::temp_dir().join(format!("synthgym-fs-recover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("ckpt");
        replace_dir_atomic(&dir, |tmp| std::fs::write(tmp.join("a"), b"1"))?;
        assert!(!recover_dir(&dir)?, "nothing to recover while the directory is there");
        // What a kill after the first rename leaves: the old directory aside, the new one unrenamed.
        std::fs::rename(&dir, root.join(".ckpt.old-4194304000"))?;
        std::fs::create_dir_all(root.join(".ckpt.tmp-4194304000"))?;
        assert!(recover_dir(&dir)? && std::fs::read(dir.join("a"))? == b"1", "the old directory is back");
        std::fs::rename(&dir, root.join(".ckpt.old-4194304001"))?;
        replace_dir_atomic(&dir, |tmp| std::fs::write(tmp.join("b"), b"2"))?;
        assert!(dir.join("b").exists() && !root.join(".ckpt.old-4194304001").exists(), "a later write recovers first, then replaces");
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }
}
