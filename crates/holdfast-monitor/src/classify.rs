//! Which normalised actions matter to the detections: console sign-ins, secret reads, rotations,
//! enrolments, privilege changes and logging being switched off, across AWS, Kubernetes and
//! Holdfast.

use crate::event::{Event, Platform};

/// What an action is, for the detections that care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    ConsoleLogin,
    /// Reads one secret's value.
    SecretRead,
    /// Lists secrets with their values (Kubernetes `list`/`watch` on secrets).
    SecretList,
    /// Rotates, overwrites or deletes a secret or key.
    Rotation,
    /// Creates an identity or a credential.
    Enrolment,
    /// Changes who may do what: IAM, RBAC, Holdfast policy and tiers.
    PrivilegeChange,
    /// Stops, deletes (`stop`) or narrows audit logging.
    LoggingOff {
        stop: bool,
    },
}

const AWS_SECRET_READS: [&str; 5] = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
];
const AWS_ROTATIONS: [&str; 8] = [
    "secretsmanager:RotateSecret",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "ssm:PutParameter",
    "ssm:DeleteParameter",
    "iam:DeleteAccessKey",
    "kms:ScheduleKeyDeletion",
];
const AWS_ENROLMENTS: [&str; 8] = [
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:CreateRole",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:UploadSSHPublicKey",
    "iam:UploadSigningCertificate",
    "iam:CreateOpenIDConnectProvider",
];
const AWS_PRIVILEGE: [&str; 22] = [
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:PutGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachGroupPolicy",
    "iam:DetachUserPolicy",
    "iam:DetachRolePolicy",
    "iam:DetachGroupPolicy",
    "iam:DeleteUserPolicy",
    "iam:DeleteRolePolicy",
    "iam:DeleteGroupPolicy",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:AddUserToGroup",
    "iam:PutRolePermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "organizations:AttachPolicy",
    "sso:AttachManagedPolicyToPermissionSet",
];
const AWS_LOGGING_STOP: [&str; 8] = [
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:DeleteEventDataStore",
    "cloudtrail:StopEventDataStoreIngestion",
    "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder",
    "guardduty:DeleteDetector",
    "ec2:DeleteFlowLogs",
];
const AWS_LOGGING_NARROW: [&str; 5] = [
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "config:DeleteDeliveryChannel",
    "guardduty:UpdateDetector",
    "logs:DeleteLogGroup",
];
const RBAC: [&str; 4] = [
    "rbac.authorization.k8s.io/roles",
    "rbac.authorization.k8s.io/clusterroles",
    "rbac.authorization.k8s.io/rolebindings",
    "rbac.authorization.k8s.io/clusterrolebindings",
];

/// The category of an event's action, if any detection cares.
pub fn categorize(ev: &Event) -> Option<Category> {
    let a = ev.action.as_str();
    match ev.platform {
        Platform::Aws => {
            if a == "signin:ConsoleLogin" {
                Some(Category::ConsoleLogin)
            } else if AWS_SECRET_READS.contains(&a) {
                Some(Category::SecretRead)
            } else if AWS_ROTATIONS.contains(&a) {
                Some(Category::Rotation)
            } else if AWS_ENROLMENTS.contains(&a) {
                Some(Category::Enrolment)
            } else if AWS_PRIVILEGE.contains(&a) {
                Some(Category::PrivilegeChange)
            } else if AWS_LOGGING_STOP.contains(&a) {
                Some(Category::LoggingOff { stop: true })
            } else if AWS_LOGGING_NARROW.contains(&a) {
                Some(Category::LoggingOff { stop: false })
            } else {
                None
            }
        }
        Platform::Kubernetes => {
            let (verb, what) = a.split_once(' ')?;
            match (verb, what) {
                ("get", "core/secrets") => Some(Category::SecretRead),
                ("list" | "watch", "core/secrets") => Some(Category::SecretList),
                ("update" | "patch" | "delete" | "deletecollection", "core/secrets") => {
                    Some(Category::Rotation)
                }
                (
                    "create",
                    "core/serviceaccounts"
                    | "core/serviceaccounts/token"
                    | "certificates.k8s.io/certificatesigningrequests",
                ) => Some(Category::Enrolment),
                ("create" | "update" | "patch" | "delete" | "deletecollection", w)
                    if RBAC.contains(&w) =>
                {
                    Some(Category::PrivilegeChange)
                }
                ("create" | "update" | "patch", "core/serviceaccounts/impersonate") => {
                    Some(Category::PrivilegeChange)
                }
                _ => None,
            }
        }
        Platform::Holdfast => match a.strip_prefix("holdfast:")? {
            "secret.read" => Some(Category::SecretRead),
            "secret.rotate"
            | "secret.rotate_emergency"
            | "secret.write"
            | "secret.delete"
            | "secret.destroy" => Some(Category::Rotation),
            "identity.create" | "credential.create" | "token.create" => Some(Category::Enrolment),
            "policy.apply" | "policy.entities_apply" | "tier.override" | "breakglass.create" => {
                Some(Category::PrivilegeChange)
            }
            _ => None,
        },
    }
}

/// Whether an action pattern covers an action. AWS patterns compare the service exactly and the
/// action name case-insensitively with `*` and `?` wildcards (as IAM does); Kubernetes and
/// Holdfast patterns compare whole strings with the same wildcards; `*` alone covers everything.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

/// `*` (any run) and `?` (one character) matching, iterative with one backtrack point.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == s.get(si) => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(action_matches("s3:Get*", "s3:GetObject"));
        assert!(action_matches("S3:get*", "s3:GetObject"));
        assert!(!action_matches("s3:Get*", "s3:PutObject"));
        assert!(action_matches("iam:*AccessKey*", "iam:CreateAccessKey"));
        assert!(action_matches("*", "anything"));
        assert!(action_matches("get core/*", "get core/secrets"));
        assert!(!action_matches("get core/*", "list core/secrets"));
        assert!(action_matches(
            "ec2:Describe?nstances",
            "ec2:DescribeInstances"
        ));
        assert!(!action_matches("s3:GetObject", "s3:GetObjectAcl"));
    }
}
