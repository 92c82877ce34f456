//! Starting and stopping real `holdfast serve` processes, and running the CLI.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use holdfast_client::Client;

pub const BIN: &str = env!("CARGO_BIN_EXE_holdfast");

/// A `holdfast serve` child process.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts `holdfast serve --data DATA --listen 127.0.0.1:0 EXTRA…` and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Self::start_env(data, extra, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .envs(env.iter().copied())
            .args(["serve", "--data"])
            .arg(data)
            .args(if extra.contains(&"--listen") {
                &[][..]
            } else {
                &["--listen", "127.0.0.1:0"][..]
            })
            .args(extra)
            .env("HOLDFAST_LOG", "warn")
            .env_remove("HOLDFAST_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn holdfast serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("holdfast listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not report its address");
        Server { child, url }
    }

    pub fn client(&self, token: Option<&str>) -> Client {
        Client::new(&self.url, token.map(str::to_string), None).unwrap()
    }

    /// Initialises the server and returns the root token.
    pub async fn init(&self) -> String {
        self.client(None).init().await.unwrap().root_token
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the CLI against `url` with `token`.
pub fn cli(url: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("HOLDFAST_ADDR", url)
        .env("HOLDFAST_LOG", "warn")
        .env_remove("HOLDFAST_TOKEN")
        .env_remove("HOLDFAST_TOKEN_FILE");
    if let Some(t) = token {
        c.env("HOLDFAST_TOKEN", t);
    }
    c.output().expect("run holdfast")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An owner to hang identities on.
pub async fn owner(c: &Client, name: &str) -> holdfast_types::OwnerView {
    c.create_owner(&holdfast_types::CreateOwnerRequest {
        name: Some(name.into()),
        display_name: None,
        kind: None,
        contact: Some(format!("{name}@example.com")),
    })
    .await
    .unwrap()
}

pub fn identity_req(name: &str, owner: &str) -> holdfast_types::CreateIdentityRequest {
    holdfast_types::CreateIdentityRequest {
        kind: Some(holdfast_core::IdentityKind::ServiceAccount),
        name: Some(name.into()),
        owner: Some(owner.into()),
        purpose: Some("tests".into()),
        ..Default::default()
    }
}

/// A one-thread HTTP receiver that answers 200 and hands each request's head and body over.
pub fn receiver() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send((head, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (url, rx)
}

/// A server started with `config` (TOML) and a key-file vault (unsealed at start), initialised;
/// with its root token. `dir` holds the configuration, the key and the data.
pub async fn configured(dir: &Path, config: &str) -> (Server, String) {
    let path = dir.join("holdfast.toml");
    std::fs::write(&path, config).unwrap();
    let key = dir.join("unseal.key");
    let s = Server::start(
        &dir.join("data"),
        &[
            "--config",
            path.to_str().unwrap(),
            "--unseal-key-file",
            key.to_str().unwrap(),
        ],
    );
    let token = s.init().await;
    (s, token)
}

/// Stores `value` at vault `path`.
pub async fn put_secret(c: &Client, path: &str, value: &str) -> holdfast_types::SecretWritten {
    c.put_secret(
        path,
        &holdfast_types::PutSecretRequest {
            value: Some(value.to_string()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Runs `git ARGS` in `dir`, failing the test with git's message if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
