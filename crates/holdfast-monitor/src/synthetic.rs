//! Synthetic CloudTrail records in the documented shape, for the benchmark and the tests: an
//! estate of IAM users and roles that each keep their own networks, clients, hours and actions,
//! and attack records to mix in. Deterministic for a seed.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// splitmix64: a small deterministic generator for test data (not for secrets).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

pub const ACCOUNT: &str = "111122223333";

/// One machine identity of the synthetic estate.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `user/<name>` or `role/<name>`.
    pub name: String,
    pub access_key: String,
    pub network: String,
    pub agent: &'static str,
    /// First and last hour (UTC) it works.
    pub hours: (u8, u8),
    pub actions: Vec<(&'static str, &'static str)>,
    pub secrets: Vec<String>,
}

impl Actor {
    pub fn is_role(&self) -> bool {
        self.name.starts_with("role/")
    }
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT}:{}", self.name)
    }
}

const AGENTS: [&str; 4] = [
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10.205 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.0",
    "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.47.7",
    "aws-sdk-java/2.21.46 Linux/5.10.205-195.807.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy",
    "Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/iam#1.28.5",
];

const ACTIONS: [(&str, &str); 8] = [
    ("s3.amazonaws.com", "GetObject"),
    ("s3.amazonaws.com", "PutObject"),
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("dynamodb.amazonaws.com", "Query"),
    ("sqs.amazonaws.com", "ReceiveMessage"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("kms.amazonaws.com", "GenerateDataKey"),
    ("lambda.amazonaws.com", "Invoke"),
];

/// `n` identities, half users with access keys, half roles.
pub fn estate(n: usize, seed: u64) -> Vec<Actor> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let role = i % 2 == 1;
            let start = rng.below(10) as u8;
            let span = 6 + rng.below(10) as u8;
            let k = 2 + rng.below(4) as usize;
            let first = rng.below(ACTIONS.len() as u64) as usize;
            let actions = (0..k)
                .filter_map(|j| ACTIONS.get((first + j) % ACTIONS.len()).copied())
                .collect();
            Actor {
                name: if role {
                    format!("role/app-{i}")
                } else {
                    format!("user/svc-{i}")
                },
                access_key: format!(
                    "{}{:016X}",
                    if role { "ASIA" } else { "AKIA" },
                    seed ^ (i as u64) << 8
                ),
                network: format!("198.51.{}.{}", (i / 250) % 250, 1 + i % 250),
                agent: AGENTS.get(i % AGENTS.len()).copied().unwrap_or_default(),
                hours: (start, (start + span).min(23)),
                actions,
                secrets: (0..2).map(|s| format!("prod/app-{i}/secret-{s}")).collect(),
            }
        })
        .collect()
}

fn time_text(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// One CloudTrail record for `actor` at `t`.
#[allow(clippy::too_many_arguments)]
pub fn record(
    actor: &Actor,
    t: i64,
    source: &str,
    name: &str,
    ip: &str,
    agent: &str,
    params: Value,
    error: Option<&str>,
    id: u64,
) -> Value {
    let identity = if actor.is_role() {
        let role = actor.name.trim_start_matches("role/");
        json!({
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE{id:08}:{role}-session"),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{role}-session"),
            "accountId": ACCOUNT,
            "accessKeyId": actor.access_key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": actor.arn(), "accountId": ACCOUNT, "userName": role},
                "attributes": {"creationDate": time_text(t - 600), "mfaAuthenticated": "false"}
            }
        })
    } else {
        json!({
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": actor.arn(),
            "accountId": ACCOUNT,
            "accessKeyId": actor.access_key,
            "userName": actor.name.trim_start_matches("user/")
        })
    };
    let read_only = name.starts_with("Get")
        || name.starts_with("Describe")
        || name.starts_with("List")
        || name == "Query"
        || name == "ReceiveMessage";
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": time_text(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": params,
        "responseElements": null,
        "requestID": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", id as u32, (id >> 8) & 0xffff, id & 0xfff, (id >> 4) & 0xfff, id),
        "eventID": format!("{:08x}-0000-4000-8000-{:012x}", (id >> 16) as u32, id),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}", source)}
    });
    if let (Some(e), Some(obj)) = (error, r.as_object_mut()) {
        obj.insert("errorCode".into(), json!(e));
        obj.insert(
            "errorMessage".into(),
            json!(format!(
                "User: {} is not authorized to perform: {}",
                actor.arn(),
                name
            )),
        );
    }
    r
}

/// One ordinary day (starting at `day_start`, unix seconds) for every actor: `per_actor` calls
/// each, inside its hours, from its network, with its client, on its actions and secrets.
pub fn ordinary_day(
    actors: &[Actor],
    day_start: i64,
    per_actor: usize,
    rng: &mut Rng,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(actors.len() * per_actor);
    for a in actors {
        let (h0, h1) = a.hours;
        let span = i64::from(h1 - h0 + 1) * 3600;
        for _ in 0..per_actor {
            let t = day_start + i64::from(h0) * 3600 + rng.below(span as u64) as i64;
            let id = rng.next_u64();
            let pick = rng.below(a.actions.len() as u64 + 1) as usize;
            let r = match a.actions.get(pick) {
                Some((source, name)) => record(
                    a,
                    t,
                    source,
                    name,
                    &a.network,
                    a.agent,
                    json!({"bucketName": "app-data", "key": "objects/report.csv"}),
                    None,
                    id,
                ),
                None => {
                    let secret = a
                        .secrets
                        .get(rng.below(a.secrets.len() as u64) as usize)
                        .cloned()
                        .unwrap_or_default();
                    record(
                        a,
                        t,
                        "secretsmanager.amazonaws.com",
                        "GetSecretValue",
                        &a.network,
                        a.agent,
                        json!({"secretId": format!("arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{secret}")}),
                        None,
                        id,
                    )
                }
            };
            out.push(r);
        }
    }
    out.sort_by(|x, y| x["eventTime"].as_str().cmp(&y["eventTime"].as_str()));
    out
}
