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
