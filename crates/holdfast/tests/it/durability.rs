//! `kill -9` in the middle of a stream of writes loses nothing that was acknowledged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Server, identity_req, owner};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_kill_9_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let token = s.init().await;
    let c = s.client(Some(&token));
    owner(&c, "team").await;
    let acked = Arc::new(Mutex::new(vec![]));
    let mut writers = vec![];
    for w in 0..6 {
        let (c, acked) = (c.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                match c
                    .create_identity(&identity_req(&format!("w{w}-{i}"), "team"))
                    .await
                {
                    Ok(v) => acked.lock().unwrap().push(v.id),
                    Err(_) => break,
                }
            }
        }));
    }
    // Let the stream run, then kill the server mid-flight.
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if acked.lock().unwrap().len() >= 150 {
            break;
        }
    }
    s.kill9();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 150);

    let s = Server::start(dir.path(), &[]);
    let c = s.client(Some(&token));
    for id in &acked {
        c.identity(&id.to_string())
            .await
            .unwrap_or_else(|e| panic!("acknowledged identity {id} was lost: {e}"));
    }
    let report = c.audit_verify(None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert!(report.records_checked >= acked.len() as u64 + 2);
    // Still writable after the crash.
    c.create_identity(&identity_req("after-restart", "team"))
        .await
        .unwrap();
    assert!(c.audit_verify(None).await.unwrap().ok);
}
