//! Plain HTTP only on loopback; TLS with rustls otherwise.

use crate::common::{BIN, Server, cli, stderr, stdout};

#[test]
fn plain_http_off_loopback_is_refused_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("refusing plain HTTP") && err.contains("--tls-cert"),
        "{err}"
    );
    let s = Server::start(dir.path(), &["--listen", "0.0.0.0:0", "--insecure-http"]);
    assert!(s.url.starts_with("http://0.0.0.0:"));
}

#[tokio::test]
async fn tls_serves_with_a_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let s = Server::start(
        &data,
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let out = std::process::Command::new(BIN)
        .args([
            "operator",
            "init",
            "--json",
            "--addr",
            &s.url,
            "--ca-cert",
            cert_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Without trusting the certificate the client refuses to talk.
    let out = cli(&s.url, None, &["identity", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
}

#[test]
fn serve_reads_a_toml_config_and_refuses_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("holdfast.toml");
    std::fs::write(
        &cfg,
        format!(
            "data = {:?}\nlisten = \"127.0.0.1:0\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .env("HOLDFAST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(
        line.starts_with("holdfast listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(
        data.join("holdfast.db").exists() && data.join("audit-signing.key").exists(),
        "the data directory comes from the file"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    std::fs::write(&cfg, "listen = \"127.0.0.1:0\"\nlisen = \"oops\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("lisen"), "{}", stderr(&out));
    // The listen rule applies to addresses from the file as well.
    std::fs::write(
        &cfg,
        format!(
            "data = {:?}\nlisten = \"0.0.0.0:0\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "plain HTTP off loopback from the file is refused too"
    );
}
