//! What a user agent and a source address say about the caller: the client family (`aws-cli`,
//! `boto3`, `terraform`, `kubectl`, `browser`, …), whether it looks like a person at a laptop, and
//! the network a source address belongs to.

use std::net::IpAddr;

/// The client family of a user agent: its first product token, lower-cased, without version, with
/// the common SDKs and tools named the same however they spell themselves. `None` when the caller
/// is AWS itself (`AWS Internal`, a service host name) or the agent is empty.
pub fn family(agent: &str) -> Option<String> {
    let a = agent.trim().trim_matches('[').trim_matches(']');
    if a.is_empty() || a == "AWS Internal" || is_service_host(a) {
        return None;
    }
    let lower = a.to_ascii_lowercase();
    // Browsers (the console, a person's session).
    if lower.starts_with("mozilla/") {
        return Some("browser".into());
    }
    const KNOWN: [(&str, &str); 16] = [
        ("aws-cli/", "aws-cli"),
        ("boto3/", "boto3"),
        ("botocore/", "boto3"),
        ("aws-sdk-go-v2/", "aws-sdk-go"),
        ("aws-sdk-go/", "aws-sdk-go"),
        ("aws-sdk-java/", "aws-sdk-java"),
        ("aws-sdk-js/", "aws-sdk-js"),
        ("aws-sdk-rust/", "aws-sdk-rust"),
        ("aws-sdk-dotnet", "aws-sdk-dotnet"),
        ("terraform/", "terraform"),
        ("aws-internal/", "aws-internal"),
        ("kubectl/", "kubectl"),
        ("helm/", "helm"),
        ("curl/", "curl"),
        ("python-requests/", "python-requests"),
        ("go-http-client/", "go-http-client"),
    ];
    if let Some((_, f)) = KNOWN.iter().find(|(p, _)| lower.starts_with(p)) {
        return Some((*f).to_string());
    }
    if lower.contains("aws-sdk-js") || lower.starts_with("aws-sdk-nodejs") {
        return Some("aws-sdk-js".into());
    }
    if lower.contains("aws-sdk-java") {
        return Some("aws-sdk-java".into());
    }
    // Kubernetes clients name themselves `<binary>/<version> (<os>/<arch>) kubernetes/<commit>`.
    let token = lower
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or("");
    let token: String = token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The operating system a user agent admits to: `darwin`, `windows`, `linux`, or `None`.
pub fn os(agent: &str) -> Option<&'static str> {
    let l = agent.to_ascii_lowercase();
    if l.contains("darwin") || l.contains("macintosh") || l.contains("mac os") {
        Some("darwin")
    } else if l.contains("windows") {
        Some("windows")
    } else if l.contains("linux") {
        Some("linux")
    } else {
        None
    }
}

/// Whether the agent is a person's tool: a browser, or a command-line tool run on a desktop OS
/// (the AWS CLI, kubectl or helm on macOS or Windows).
pub fn looks_human(agent: &str) -> bool {
    match family(agent).as_deref() {
        Some("browser") => true,
        Some("aws-cli" | "kubectl" | "helm") => matches!(os(agent), Some("darwin" | "windows")),
        _ => false,
    }
}

/// `lambda.amazonaws.com`-style sources: the call came from AWS on the principal's behalf.
pub fn is_service_host(s: &str) -> bool {
    s.ends_with(".amazonaws.com") || s.ends_with(".amazonaws.com.cn") || s == "AWS Internal"
}

/// The network a source address belongs to, as baselines keep it: a /24 (IPv4) or /48 (IPv6) for
/// public addresses; private, shared and link-local IPv4 space is kept at /16, because pods and
/// runners move around inside it. `None` for anything that is not an address.
pub fn network(source: &str) -> Option<String> {
    let ip: IpAddr = source.trim().parse().ok()?;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            let private =
                v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b));
            if v4.is_loopback() {
                Some("127.0.0.0/8".into())
            } else if private {
                Some(format!("{a}.{b}.0.0/16"))
            } else {
                Some(format!("{a}.{b}.{c}.0/24"))
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return network(&v4.to_string());
            }
            let s = v6.segments();
            let (a, b, c) = (
                s.first().copied().unwrap_or(0),
                s.get(1).copied().unwrap_or(0),
                s.get(2).copied().unwrap_or(0),
            );
            Some(format!("{a:x}:{b:x}:{c:x}::/48"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(
            family("aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0 exe/x86_64").as_deref(),
            Some("aws-cli")
        );
        assert_eq!(
            family("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10").as_deref(),
            Some("boto3")
        );
        assert_eq!(
            family("kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f/system:serviceaccount:kube-system:replicaset-controller").as_deref(),
            Some("kube-controller-manager")
        );
        assert_eq!(
            family("payments-api/1.4.2 (linux/amd64) kubernetes/$Format").as_deref(),
            Some("payments-api")
        );
        assert_eq!(family("lambda.amazonaws.com"), None);
        assert_eq!(family("AWS Internal"), None);
        assert_eq!(
            family("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)").as_deref(),
            Some("browser")
        );
        assert_eq!(family("[aws-cli/2.1]").as_deref(), Some("aws-cli"));
    }

    #[test]
    fn people_at_laptops() {
        assert!(looks_human("aws-cli/2.15.0 Python/3.11.6 Darwin/23.1.0"));
        assert!(looks_human(
            "kubectl/v1.29.0 (darwin/arm64) kubernetes/3f7a50f"
        ));
        assert!(looks_human(
            "aws-cli/2.15.0 Python/3.11.6 Windows/10 exe/AMD64"
        ));
        assert!(!looks_human(
            "aws-cli/2.15.0 Python/3.11.6 Linux/5.10 exe/x86_64"
        ));
        assert!(!looks_human(
            "kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f"
        ));
        assert!(!looks_human("Boto3/1.34.0 os/macos"));
    }

    #[test]
    fn networks() {
        assert_eq!(network("203.0.113.9").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(network("10.244.1.17").as_deref(), Some("10.244.0.0/16"));
        assert_eq!(network("100.64.3.2").as_deref(), Some("100.64.0.0/16"));
        assert_eq!(
            network("2001:db8:abcd:12::1").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(
            network("::ffff:198.51.100.7").as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(network("lambda.amazonaws.com"), None);
    }
}
