//! The risk score of one identity: tier, blast radius, exposure, credential age and findings,
//! each part shown with its points so a reader can see why the total is what it is.

use holdfast_core::{Severity, Tier};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One part of a risk score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskPart {
    /// `tier`, `blast_radius`, `exposure`, `age`, `findings`.
    pub name: String,
    pub points: u32,
    pub max: u32,
    pub why: String,
}

/// An identity's risk, 0–100, and its parts (which add up to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Risk {
    pub identity_id: Uuid,
    pub score: u32,
    pub parts: Vec<RiskPart>,
}

/// What the score is computed from.
#[derive(Debug, Clone)]
pub struct RiskInput {
    pub identity_id: Uuid,
    pub tier: Tier,
    /// The blast-radius score, 0–100.
    pub blast: u32,
    pub exposed_credentials: usize,
    /// Days since the oldest active credential was issued or last rotated.
    pub oldest_credential_days: Option<i64>,
    pub max_age_days: i64,
}

pub const TIER_MAX: u32 = 25;
pub const BLAST_MAX: u32 = 30;
pub const EXPOSURE_MAX: u32 = 20;
pub const AGE_MAX: u32 = 10;
pub const FINDINGS_MAX: u32 = 15;

/// Points a finding of this severity adds to its identity's findings part.
pub fn severity_points(s: Severity) -> u32 {
    match s {
        Severity::Low => 1,
        Severity::Medium => 3,
        Severity::High => 6,
        Severity::Critical => 10,
    }
}

/// The score without the findings part (added by [`Risk::add_findings`]).
pub fn risk(input: &RiskInput) -> Risk {
    let tier = match input.tier {
        Tier::ManagementPlane => (TIER_MAX, "management plane"),
        Tier::BreakGlass => (20, "break-glass"),
        Tier::Standard => (0, "standard tier"),
    };
    let blast = (input.blast.min(100) * BLAST_MAX).div_ceil(100);
    let exposure = if input.exposed_credentials > 0 {
        EXPOSURE_MAX
    } else {
        0
    };
    // Age counts from the maximum age up to four times it.
    let age = input.oldest_credential_days.map_or(0, |d| {
        let max = input.max_age_days.max(1);
        if d <= max {
            0
        } else {
            let over = (d - max).min(3 * max);
            u32::try_from(over * i64::from(AGE_MAX) / (3 * max)).unwrap_or(AGE_MAX)
        }
    });
    let parts = vec![
        RiskPart {
            name: "tier".into(),
            points: tier.0,
            max: TIER_MAX,
            why: tier.1.into(),
        },
        RiskPart {
            name: "blast_radius".into(),
            points: blast,
            max: BLAST_MAX,
            why: format!("blast-radius score {}", input.blast),
        },
        RiskPart {
            name: "exposure".into(),
            points: exposure,
            max: EXPOSURE_MAX,
            why: format!(
                "{} active credentials with copies found",
                input.exposed_credentials
            ),
        },
        RiskPart {
            name: "age".into(),
            points: age,
            max: AGE_MAX,
            why: match input.oldest_credential_days {
                Some(d) => format!(
                    "oldest active credential {d} days since issue or rotation (maximum {})",
                    input.max_age_days
                ),
                None => "no active credential".into(),
            },
        },
    ];
    Risk {
        identity_id: input.identity_id,
        score: parts.iter().map(|p| p.points).sum(),
        parts,
    }
}

impl Risk {
    /// An offboarded identity carries no risk of its own (a credential left active is a finding).
    pub fn offboarded(identity_id: Uuid) -> Risk {
        Risk {
            identity_id,
            score: 0,
            parts: vec![RiskPart {
                name: "tier".into(),
                points: 0,
                max: TIER_MAX,
                why: "offboarded".into(),
            }],
        }
    }

    /// Adds the findings part: severity points of its open findings, capped.
    pub fn add_findings(&mut self, points: u32) {
        let p = points.min(FINDINGS_MAX);
        self.parts.push(RiskPart {
            name: "findings".into(),
            points: p,
            max: FINDINGS_MAX,
            why: format!(
                "{points} severity points of findings (critical 10, high 6, medium 3, low 1)"
            ),
        });
        self.score = self.parts.iter().map(|x| x.points).sum::<u32>().min(100);
    }
}
