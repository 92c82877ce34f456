//! The evidence report: the HTML renders in headless Chromium (Debian's `chromium`) with every
//! section, as a screenshot shows; the OSCAL output validates against NIST's published OSCAL
//! 1.2.3 JSON schema; the JSON states the audit chain's verification.

use std::path::{Path, PathBuf};
use std::process::Command;

use holdfast_types::{CreateOwnerRequest, DiscoverInput, DiscoverRequest};
use serde_json::{Value, json};

use crate::common::{Server, cli, stderr};

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("HOLDFAST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn headless(browser: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap()
}

async fn estate(s: &Server, token: &str) {
    let c = s.client(Some(token));
    c.create_owner(&CreateOwnerRequest {
        name: Some("team-a".into()),
        display_name: None,
        kind: Some(holdfast_core::OwnerKind::Team),
        contact: Some("team-a@example.com".into()),
    })
    .await
    .unwrap();
    let iam = json!({
        "UserDetailList": [
            {"Path": "/", "UserName": "ci-deployer", "UserId": "AIDAQX7RZ3CIDEPLOYR1",
             "Arn": "arn:aws:iam::111122223333:user/ci-deployer", "CreateDate": "2023-01-10T09:00:00Z",
             "UserPolicyList": [{"PolicyName": "all", "PolicyDocument": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}],
             "GroupList": [], "AttachedManagedPolicies": [], "Tags": [{"Key": "owner", "Value": "team-a"}]},
            {"Path": "/", "UserName": "orphan", "UserId": "AIDAQX7RZ3ORPHAN0001",
             "Arn": "arn:aws:iam::111122223333:user/orphan", "CreateDate": "2023-01-10T09:00:00Z",
             "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [], "Tags": []}
        ],
        "GroupDetailList": [], "RoleDetailList": [], "Policies": []
    });
    c.discover(
        "aws-iam",
        &DiscoverRequest {
            inputs: vec![DiscoverInput {
                name: Some("iam.json".into()),
                content: Some(iam.to_string()),
            }],
            system: None,
        },
    )
    .await
    .unwrap();
    c.recompute_findings().await.unwrap();
}

#[tokio::test]
async fn the_report_renders_in_chromium_and_its_oscal_validates() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data"), &[]);
    let token = s.init().await;
    estate(&s, &token).await;

    // JSON: the numbers behind it.
    let out = cli(&s.url, Some(&token), &["report", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["inventory"]["identities"], 2, "{report:#}");
    assert_eq!(report["audit"]["ok"], true);
    assert!(
        report["owasp"]["NHI5"]["critical"].as_u64().unwrap() >= 1,
        "{:#}",
        report["owasp"]
    );
    assert!(report["owasp"]["NHI1"].as_object().is_some());
    let csf = report["csf"].as_array().unwrap();
    let pr_aa_05 = csf.iter().find(|c| c["id"] == "PR.AA-05").unwrap();
    assert_eq!(
        pr_aa_05["satisfied"], false,
        "a critical wildcard grant maps to PR.AA-05"
    );
    let pr_ps_04 = csf.iter().find(|c| c["id"] == "PR.PS-04").unwrap();
    assert_eq!(pr_ps_04["satisfied"], true, "the audit chain verifies");

    // OSCAL: validates against NIST's published schema.
    let out = cli(&s.url, Some(&token), &["report", "--format", "oscal"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let oscal: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../data/oscal_complete_schema-1.2.3.json")).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&oscal)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let findings = oscal["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap();
    assert_eq!(findings.len(), holdfast_posture::CSF_OUTCOMES.len());
    let state_of = |id: &str| {
        findings
            .iter()
            .find(|f| f["target"]["target-id"] == id)
            .unwrap()["target"]["status"]["state"]
            .clone()
    };
    assert_eq!(state_of("PR.AA-05"), "not-satisfied");
    assert_eq!(state_of("PR.PS-04"), "satisfied");
    // The schema is not a formality: a broken document fails it.
    let mut broken = oscal.clone();
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] =
        json!("fine");
    assert!(!validator.is_valid(&broken));

    // HTML: one self-contained file; Chromium renders it with every section.
    let html = dir.path().join("report.html");
    let out = cli(
        &s.url,
        Some(&token),
        &["report", "--format", "html", "-o", html.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&html).unwrap();
    for forbidden in ["<script", "http://", "https://", "<link", "@import"] {
        let found = text
            .match_indices(forbidden)
            .map(|(i, _)| &text[i.saturating_sub(40)..(i + 60).min(text.len())])
            .find(|ctx| !ctx.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(found.is_none(), "not self-contained: {found:?}");
    }
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("HOLDFAST_REQUIRE_BROWSER").is_err(),
            "HOLDFAST_REQUIRE_BROWSER is set but no chromium was found"
        );
        eprintln!("chromium not installed: the browser half of this test did not run");
        return;
    };
    let profile = dir.path().join("chromium-profile");
    let url = format!("file://{}", html.display());
    let shot = dir.path().join("report.png");
    let out = headless(
        &browser,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400",
            &url,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "a blank page: {} bytes", png.len());
    let out = headless(&browser, &profile, &["--dump-dom", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    for section in [
        "summary",
        "inventory",
        "findings",
        "csf",
        "workflows",
        "audit",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "section {section} missing from the rendered page"
        );
    }
    for heading in [
        "Findings by OWASP Non-Human Identities Top 10 (2025)",
        "NIST CSF 2.0 outcomes",
        "Audit chain",
        "Trend by OWASP item",
        "NHI5 Overprivileged NHI",
        "PR.AA-05",
    ] {
        assert!(
            dom.contains(heading),
            "`{heading}` missing from the rendered page"
        );
    }
    assert!(dom.contains("id=\"chart-owasp\"") && dom.contains("id=\"chart-trend\""));
    assert!(dom.contains("The hash chain and every signature verify."));
}
