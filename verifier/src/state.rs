//! The state file: the latest checkpoint this verifier has accepted for a
//! log, so that the next run can prove the log only grew since.
//!
//! ```json
//! {"format":"veche-verify-state/v1","origin":"…","size":123,
//!  "root":"<base64>","checkpoint":"<signed note text>"}
//! ```
//!
//! Default location: `$XDG_STATE_HOME/veche-verify/<origin>.json`, or
//! `~/.local/state/veche-verify/<origin>.json`, with every character of the
//! origin other than `A-Z a-z 0-9 . _ -` replaced by `_`.

use crate::{Result, could_not};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use veche_log::{Checkpoint, Hash, verify_checkpoint};

/// The `format` of a state file.
pub const STATE_FORMAT: &str = "veche-verify-state/v1";

/// What a state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// The log's origin.
    pub origin: String,
    /// Tree size of the remembered checkpoint.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl State {
    /// The state remembering `cp`, whose signed note is `note`.
    pub fn new(cp: &Checkpoint, note: &str) -> Self {
        State {
            format: STATE_FORMAT.into(),
            origin: cp.origin.clone(),
            size: cp.size,
            root: cp.root.to_base64(),
            checkpoint: note.into(),
        }
    }

    /// The remembered checkpoint, after checking that its note still
    /// verifies with `vkey` and agrees with the other fields.
    pub fn checkpoint(&self, vkey: &str, path: &Path) -> Result<Checkpoint> {
        let bad = |why: String| {
            could_not(format!(
                "state file {}: {why} (delete it or use another --state to start afresh)",
                path.display()
            ))
        };
        if self.format != STATE_FORMAT {
            return Err(bad(format!("unknown format {:?}", self.format)));
        }
        let cp = verify_checkpoint(self.checkpoint.as_bytes(), vkey).map_err(|e| {
            bad(format!(
                "remembered checkpoint does not verify with this key: {e}"
            ))
        })?;
        let root = Hash::from_base64(&self.root).map_err(|e| bad(format!("bad root: {e}")))?;
        if cp.origin != self.origin || cp.size != self.size || cp.root != root {
            return Err(bad(
                "origin, size or root differ from the remembered note".into()
            ));
        }
        Ok(cp)
    }
}

/// `origin` made safe as a file name.
pub fn file_name_for(origin: &str) -> String {
    let safe: String = origin
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    format!("{safe}.json")
}

/// The default state file of the log `origin` (see the module docs).
pub fn default_path(origin: &str) -> Result<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let base = match (non_empty("XDG_STATE_HOME"), non_empty("HOME")) {
        (Some(state), _) => PathBuf::from(state),
        (None, Some(home)) => PathBuf::from(home).join(".local/state"),
        (None, None) => {
            return Err(could_not(
                "neither XDG_STATE_HOME nor HOME is set: give --state FILE",
            ));
        }
    };
    Ok(base.join("veche-verify").join(file_name_for(origin)))
}

/// Reads the state file; `None` if it does not exist yet.
pub fn load(path: &Path) -> Result<Option<State>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(could_not(format!("state file {}: {e}", path.display()))),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        could_not(format!(
            "state file {}: not a state file: {e}",
            path.display()
        ))
    })
}

/// Writes the state file atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the old one.
pub fn save(path: &Path, state: &State) -> Result<()> {
    let io = |e: std::io::Error| could_not(format!("state file {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut json = serde_json::to_vec_pretty(state).map_err(|e| could_not(e.to_string()))?;
    json.push(b'\n');
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use veche_log::{LogSigner, leaf_hash};

    #[test]
    fn file_names() {
        assert_eq!(file_name_for("veche.example/log"), "veche.example_log.json");
        assert_eq!(file_name_for("a b+c:ü"), "a_b_c__.json");
        assert_eq!(file_name_for(".."), "...json");
    }

    #[test]
    fn round_trip_and_checks() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub/dir/state.json");
        assert_eq!(load(&path).unwrap(), None);
        let (signer, _) = LogSigner::generate("example.org/veche");
        let cp = Checkpoint::new("example.org/veche", 5, leaf_hash(b"x"));
        let note = signer.sign(&cp);
        let st = State::new(&cp, &note);
        save(&path, &st).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back, st);
        assert_eq!(back.checkpoint(&signer.vkey(), &path).unwrap(), cp);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
        // Overwrite.
        let cp2 = Checkpoint::new("example.org/veche", 6, leaf_hash(b"y"));
        save(&path, &State::new(&cp2, &signer.sign(&cp2))).unwrap();
        assert_eq!(load(&path).unwrap().unwrap().size, 6);

        // Another key, a tampered size, garbage: could not check (exit 2).
        let (other, _) = LogSigner::generate("example.org/veche");
        assert!(back.checkpoint(&other.vkey(), &path).is_err());
        let mut bad = back.clone();
        bad.size = 4;
        assert!(matches!(
            bad.checkpoint(&signer.vkey(), &path),
            Err(crate::Error::CouldNotCheck(_))
        ));
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(load(&path), Err(crate::Error::CouldNotCheck(_))));
    }
}
