//! `veche-verify witness`: a [C2SP tlog-witness] an observer can host.
//!
//! It answers `POST /add-checkpoint` for the logs whose keys it was given:
//! it checks the log's signature and the consistency proof from the latest
//! checkpoint it cosigned for that origin ([`check_add_checkpoint`]),
//! records the new checkpoint durably, and only then returns its
//! `cosignature/v1` line. Requests for one origin are serialised (check,
//! persist and sign under one lock), so two racing requests can never roll
//! the recorded size back.
//!
//! State directory layout:
//! * `witness.key`: the witness's secret key (mode 0600), made at first start;
//! * `logs/<hex SHA-256 of origin>.json`: the latest cosigned checkpoint of
//!   each log (`origin`, `size`, `root`, `checkpoint`).
//!
//! The HTTP server is `tiny_http` on a fixed number of threads, with a bound
//! on the request body, so the verifier crate stays free of any async
//! runtime.
//!
//! [C2SP tlog-witness]: https://c2sp.org/tlog-witness

use crate::{Result, could_not};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};
use veche_log::Hash;
use veche_log::cosignature::{
    AddCheckpoint, Latest, MAX_ADD_CHECKPOINT_BODY, Refusal, WitnessSigner, check_add_checkpoint,
};

/// Content type of a 409 body (C2SP tlog-witness).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// How a witness is run.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Directory holding the key and the per-log state.
    pub state_dir: PathBuf,
    /// The witness's name, used when the key is first made; an existing key
    /// must carry this name.
    pub name: Option<String>,
    /// Verifier keys of the logs this witness cosigns (their names are the
    /// origins).
    pub log_vkeys: Vec<String>,
    /// Request-handling threads.
    pub threads: usize,
}

/// One log the witness follows.
struct LogEntry {
    vkey: String,
    file: PathBuf,
    /// The latest checkpoint cosigned; the lock serialises requests.
    latest: Mutex<Option<Latest>>,
}

struct Shared {
    signer: WitnessSigner,
    logs: HashMap<String, LogEntry>,
}

/// A running witness.
pub struct Witness {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    addr: SocketAddr,
    vkey: String,
}

impl Witness {
    /// Loads (or makes) the key and state, binds, and starts serving.
    pub fn start(config: &WitnessConfig) -> Result<Witness> {
        let signer = load_or_create_key(&config.state_dir, config.name.as_deref())?;
        let logs_dir = config.state_dir.join("logs");
        fs::create_dir_all(&logs_dir)
            .map_err(|e| could_not(format!("{}: {e}", logs_dir.display())))?;
        let mut logs = HashMap::new();
        for vkey in &config.log_vkeys {
            let (origin, _) = veche_log::checkpoint::parse_vkey(vkey)
                .map_err(|e| could_not(format!("--log-vkey {vkey}: {e}")))?;
            let file = logs_dir.join(format!(
                "{}.json",
                hex::encode(Sha256::digest(origin.as_bytes()))
            ));
            let latest = load_latest(&file, &origin)?;
            logs.insert(
                origin,
                LogEntry {
                    vkey: vkey.clone(),
                    file,
                    latest: Mutex::new(latest),
                },
            );
        }
        if logs.is_empty() {
            return Err(could_not("give at least one --log-vkey"));
        }
        let server = tiny_http::Server::http(config.listen)
            .map_err(|e| could_not(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| could_not("not listening on an IP address"))?;
        let server = Arc::new(server);
        let vkey = signer.vkey();
        let shared = Arc::new(Shared { signer, logs });
        let workers = (0..config.threads.max(1))
            .map(|_| {
                let (server, shared) = (server.clone(), shared.clone());
                std::thread::spawn(move || {
                    // `recv` fails only when the server is unblocked (stop).
                    while let Ok(request) = server.recv() {
                        handle(&shared, request);
                    }
                })
            })
            .collect();
        Ok(Witness {
            server,
            workers,
            addr,
            vkey,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The witness's cosigner verifier key (type 0x04).
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }

    /// Stops serving: each worker finishes its request and exits.
    pub fn stop(self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// The state file of one log.
#[derive(serde::Serialize, serde::Deserialize)]
struct LogStateFile {
    origin: String,
    size: u64,
    root: String,
    checkpoint: String,
}

fn load_latest(file: &Path, origin: &str) -> Result<Option<Latest>> {
    let text = match fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(could_not(format!("{}: {e}", file.display()))),
    };
    let st: LogStateFile =
        serde_json::from_str(&text).map_err(|e| could_not(format!("{}: {e}", file.display())))?;
    if st.origin != origin {
        return Err(could_not(format!(
            "{} is for {:?}, not {origin:?}",
            file.display(),
            st.origin
        )));
    }
    let root = Hash::from_base64(&st.root)
        .map_err(|e| could_not(format!("{}: root: {e}", file.display())))?;
    Ok(Some(Latest {
        size: st.size,
        root,
    }))
}

/// Writes `data` to `path` so that a crash leaves the old or the new file,
/// never a torn one: temporary file, fsync, rename, fsync of the directory.
fn write_durably(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

fn load_or_create_key(dir: &Path, name: Option<&str>) -> Result<WitnessSigner> {
    let io = |e: std::io::Error| could_not(format!("{}: {e}", dir.display()));
    fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join("witness.key");
    let signer = match fs::read_to_string(&path) {
        Ok(text) => {
            let mode = fs::metadata(&path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(could_not(format!(
                    "{} is readable by others (mode {mode:o}); run `chmod 600` on it",
                    path.display()
                )));
            }
            let signer = WitnessSigner::from_skey(&text)
                .map_err(|e| could_not(format!("{}: {e}", path.display())))?;
            if let Some(n) = name
                && n != signer.name()
            {
                return Err(could_not(format!(
                    "{} holds the key of witness {:?}, not {n:?}",
                    path.display(),
                    signer.name()
                )));
            }
            signer
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = name.ok_or_else(|| {
                could_not(format!(
                    "{} does not exist yet: give --name NAME (e.g. witness.example.org/w1) for the new key",
                    path.display()
                ))
            })?;
            let (signer, skey) =
                WitnessSigner::generate(name).map_err(|e| could_not(format!("--name: {e}")))?;
            write_durably(&path, format!("{skey}\n").as_bytes(), 0o600).map_err(io)?;
            signer
        }
        Err(e) => return Err(io(e)),
    };
    Ok(signer)
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn respond(request: tiny_http::Request, status: u16, content_type: &str, body: String) {
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
        .expect("valid header");
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header);
    // The client may have gone; nothing to do about it.
    let _ = request.respond(response);
}

const TEXT: &str = "text/plain; charset=utf-8";

fn handle(shared: &Shared, mut request: tiny_http::Request) {
    let path = request.url().split('?').next().unwrap_or_default();
    if path != "/add-checkpoint" {
        return respond(request, 404, TEXT, "not found\n".into());
    }
    if *request.method() != tiny_http::Method::Post {
        return respond(request, 405, TEXT, "use POST\n".into());
    }
    if request
        .body_length()
        .is_some_and(|n| n > MAX_ADD_CHECKPOINT_BODY)
    {
        return respond(request, 413, TEXT, "request body too large\n".into());
    }
    let mut body = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_ADD_CHECKPOINT_BODY as u64 + 1)
        .read_to_end(&mut body);
    if read.is_err() {
        return respond(
            request,
            400,
            TEXT,
            "could not read the request body\n".into(),
        );
    }
    if body.len() > MAX_ADD_CHECKPOINT_BODY {
        return respond(request, 413, TEXT, "request body too large\n".into());
    }
    match add_checkpoint(shared, &body) {
        Ok(line) => respond(request, 200, TEXT, line),
        Err(Outcome::Refused(r)) => {
            eprintln!("veche-verify witness: refused ({}): {r}", r.status());
            match r {
                Refusal::Conflict { latest } => {
                    respond(request, 409, SIZE_CONTENT_TYPE, format!("{latest}\n"))
                }
                r => respond(request, r.status(), TEXT, format!("{r}\n")),
            }
        }
        Err(Outcome::Storage(e)) => {
            eprintln!("veche-verify witness: cannot record the checkpoint: {e}");
            respond(
                request,
                500,
                TEXT,
                "the witness could not record the checkpoint\n".into(),
            )
        }
    }
}

enum Outcome {
    Refused(Refusal),
    Storage(std::io::Error),
}

/// Checks, records and cosigns; returns the cosignature line.
fn add_checkpoint(shared: &Shared, body: &[u8]) -> std::result::Result<String, Outcome> {
    let req = AddCheckpoint::parse(body).map_err(Outcome::Refused)?;
    let origin = req.origin().unwrap_or_default();
    let Some(log) = shared.logs.get(origin) else {
        return Err(Outcome::Refused(Refusal::UnknownLog(origin.to_owned())));
    };
    // A poisoned lock means a worker panicked mid-request; the state it
    // guards is only ever replaced whole after the file is written.
    let mut latest = log.latest.lock().unwrap_or_else(|p| p.into_inner());
    let cp = check_add_checkpoint(&req, Some(&log.vkey), *latest).map_err(Outcome::Refused)?;
    let new = Latest {
        size: cp.size,
        root: cp.root,
    };
    if *latest != Some(new) {
        let state = LogStateFile {
            origin: cp.origin.clone(),
            size: cp.size,
            root: cp.root.to_base64(),
            checkpoint: req.note.clone(),
        };
        let json = serde_json::to_vec_pretty(&state).expect("serialisable");
        write_durably(&log.file, &json, 0o644).map_err(Outcome::Storage)?;
        *latest = Some(new);
    }
    let cosignature = shared.signer.cosign(&cp.to_body(), now_seconds());
    eprintln!(
        "veche-verify witness: cosigned {} at size {}",
        cp.origin, cp.size
    );
    Ok(cosignature.to_line())
}
