//! Where the log is read from: an HTTP(S) tlog-tiles prefix or a directory
//! holding a static mirror with the same relative paths.
//!
//! Paths are relative, as in C2SP tlog-tiles: `checkpoint`,
//! `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`.

use crate::{Result, could_not, failed};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use veche_log::checkpoint::MAX_NOTE_SIZE;
use veche_log::tiles::{FULL_TILE_BYTES, MAX_ENTRY_LEN, TILE_WIDTH};

/// Something that serves the files of a tlog-tiles log.
pub trait LogSource: Send + Sync {
    /// The bytes at `path`, or `None` if the log does not have it (HTTP 404,
    /// no such file). Fails with [`Error::Failed`](crate::Error::Failed) if
    /// the resource is larger than any valid one ([`max_size`]) and with
    /// [`Error::CouldNotCheck`](crate::Error::CouldNotCheck) on a network or
    /// I/O problem.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>>;

    /// Where `path` is, for messages: its URL or file name.
    fn locate(&self, path: &str) -> String;

    /// How many requests are worth running at once.
    fn parallelism(&self) -> usize {
        1
    }
}

/// The largest valid resource at `path`: a checkpoint note is at most
/// `MAX_NOTE_SIZE` bytes (the log crate's limit), a hash tile 8192 bytes,
/// an entry bundle 256 entries of at most 65535 bytes, each with a 2-byte
/// length.
pub fn max_size(path: &str) -> u64 {
    if path.starts_with("tile/entries/") {
        TILE_WIDTH * (2 + MAX_ENTRY_LEN as u64)
    } else if path.starts_with("tile/") {
        FULL_TILE_BYTES as u64
    } else {
        MAX_NOTE_SIZE as u64
    }
}

fn too_large(location: &str, limit: u64) -> crate::Error {
    failed(format!(
        "{location}: larger than {limit} bytes, the most a valid resource there can hold"
    ))
}

/// Opens `--log`: a URL starting with `http://` or `https://` (see
/// [`url_prefix`]), anything else a directory.
pub fn open(log: &str) -> Result<Arc<dyn LogSource>> {
    if log.starts_with("http://") || log.starts_with("https://") {
        Ok(Arc::new(HttpSource::new(&url_prefix(log)?)))
    } else {
        let root = PathBuf::from(log);
        if !root.is_dir() {
            return Err(could_not(format!(
                "--log {log:?}: not a directory (and not an http:// or https:// URL)"
            )));
        }
        Ok(Arc::new(DirSource::new(root)))
    }
}

/// The tlog-tiles prefix for a log URL: without a trailing `/`, and with
/// `/log` appended when the URL has no path (`http://host:8080` and
/// `http://host:8080/` mean `http://host:8080/log`, where the Veche server
/// publishes). Query strings and fragments are refused.
pub fn url_prefix(url: &str) -> Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| could_not(format!("{url:?} is not a URL")))?;
    if scheme != "http" && scheme != "https" {
        return Err(could_not(format!(
            "{url:?}: only http and https URLs are supported"
        )));
    }
    if url.contains(['?', '#']) {
        return Err(could_not(format!(
            "{url:?}: a log prefix URL cannot have a query or fragment"
        )));
    }
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if host.is_empty() {
        return Err(could_not(format!("{url:?}: no host")));
    }
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "/log" } else { path };
    Ok(format!("{scheme}://{host}{path}"))
}

/// A static mirror in a directory: `DIR/checkpoint`, `DIR/tile/...`.
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// The mirror rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirSource { root: root.into() }
    }
}

impl LogSource for DirSource {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let file = self.root.join(path);
        let f = match std::fs::File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(could_not(format!("{}: {e}", file.display()))),
        };
        let limit = max_size(path);
        let mut data = Vec::new();
        f.take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| could_not(format!("{}: {e}", file.display())))?;
        if data.len() as u64 > limit {
            return Err(too_large(&self.locate(path), limit));
        }
        Ok(Some(data))
    }

    fn locate(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }

    fn parallelism(&self) -> usize {
        2
    }
}

/// A log served over HTTP(S) under a tlog-tiles prefix.
#[derive(Debug, Clone)]
pub struct HttpSource {
    prefix: String,
    agent: ureq::Agent,
}

impl HttpSource {
    /// The log under `prefix` (already normalised by [`url_prefix`]).
    pub fn new(prefix: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("veche-verify/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        HttpSource {
            prefix: prefix.to_owned(),
            agent,
        }
    }
}

impl LogSource for HttpSource {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let url = self.locate(path);
        let limit = max_size(path);
        let mut resp = match self.agent.get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::StatusCode(404)) => return Ok(None),
            Err(e) => return Err(could_not(format!("{url}: {e}"))),
        };
        match resp.body_mut().with_config().limit(limit).read_to_vec() {
            Ok(data) => Ok(Some(data)),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(too_large(&url, limit)),
            Err(e) => Err(could_not(format!("{url}: {e}"))),
        }
    }

    fn locate(&self, path: &str) -> String {
        format!("{}/{path}", self.prefix)
    }

    fn parallelism(&self) -> usize {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_prefixes() {
        let ok = |u: &str| url_prefix(u).unwrap();
        assert_eq!(ok("http://localhost:8080"), "http://localhost:8080/log");
        assert_eq!(ok("http://localhost:8080/"), "http://localhost:8080/log");
        assert_eq!(ok("https://veche.example/log"), "https://veche.example/log");
        assert_eq!(
            ok("https://veche.example/log/"),
            "https://veche.example/log"
        );
        assert_eq!(
            ok("https://cdn.example/mirror/veche//"),
            "https://cdn.example/mirror/veche"
        );
        assert_eq!(ok("http://[::1]:80"), "http://[::1]:80/log");
        for bad in [
            "ftp://x/log",
            "http://",
            "http:///log",
            "http://x/log?a=1",
            "http://x/log#f",
            "localhost:8080",
        ] {
            assert!(url_prefix(bad).is_err(), "{bad}");
        }
        let src = HttpSource::new(&ok("http://h:1"));
        assert_eq!(
            src.locate("tile/0/000.p/3"),
            "http://h:1/log/tile/0/000.p/3"
        );
    }

    #[test]
    fn limits() {
        assert_eq!(max_size("checkpoint"), MAX_NOTE_SIZE as u64);
        assert_eq!(max_size("tile/0/x001/000"), 8192);
        assert_eq!(max_size("tile/entries/000.p/5"), 256 * 65537);
    }

    #[test]
    fn dir_source() {
        let d = tempfile::tempdir().unwrap();
        let src = open(d.path().to_str().unwrap()).unwrap();
        assert_eq!(src.get("checkpoint").unwrap(), None);
        std::fs::create_dir_all(d.path().join("tile/0")).unwrap();
        std::fs::write(d.path().join("tile/0/000"), [7u8; 32]).unwrap();
        assert_eq!(src.get("tile/0/000").unwrap(), Some(vec![7u8; 32]));
        std::fs::write(d.path().join("tile/0/001"), vec![0u8; 8193]).unwrap();
        assert!(matches!(
            src.get("tile/0/001"),
            Err(crate::Error::Failed(_))
        ));
        assert!(matches!(
            open(d.path().join("nope").to_str().unwrap()),
            Err(crate::Error::CouldNotCheck(_))
        ));
    }
}
