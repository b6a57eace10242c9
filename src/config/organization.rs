//! The `organization` block: its raw form (part of the spec) and its check into `Organization`,
//! which says which role to assume in which accounts.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::Deserialize;

use super::secret::{credential_field, Secret};
use crate::error::Error;

/// IAM's limit on a role name.
pub const MAX_ROLE_NAME_LEN: usize = 64;

/// Read every account of an AWS Organization in one connection.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RawOrganization {
    /// The role to assume in every account read: `arn:<partition>:iam::<account>:role/<name>`,
    /// assumed with the base credentials (the keys, session token or default chain above, after
    /// `role_arn` when set). Every account is read through it, the management account included.
    #[schemars(title = "Member Role Name", extend("order" = 0, "examples" = ["cloudtrail-reader"]))]
    pub member_role_name: String,

    /// External id required by the member role's trust policy, if any.
    #[schemars(title = "Member Role External ID", extend("airbyte_secret" = true, "order" = 1))]
    pub member_role_external_id: Option<Secret>,

    /// The 12-digit ids of the accounts to read. When not set, the ACTIVE accounts of the
    /// organization are listed with AWS Organizations ListAccounts, using the base credentials
    /// (those of the management account or a delegated administrator); SUSPENDED accounts are
    /// skipped.
    #[schemars(title = "Accounts", extend("order" = 2, "examples" = [["111122223333", "444455556666"]]))]
    pub accounts: Option<Vec<String>>,

    /// The 12-digit ids of accounts not to read.
    #[schemars(title = "Excluded Accounts", extend("order" = 3))]
    pub exclude_accounts: Option<Vec<String>>,
}

/// Which accounts to read and how.
#[derive(Debug, Clone)]
pub struct Organization {
    pub member_role_name: String,
    pub external_id: Option<Secret>,
    /// `None`: list the organization's ACTIVE accounts. Never empty when set, deduplicated,
    /// already without `exclude`.
    pub accounts: Option<Vec<String>>,
    pub exclude: Vec<String>,
}

impl Organization {
    /// The accounts to read among those the organization lists, in its order; linear in
    /// their number (an organization may have 100,000).
    pub fn select(&self, listed: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut skip: HashSet<String> = self.exclude.iter().cloned().collect();
        listed
            .into_iter()
            .filter(|a| skip.insert(a.clone()))
            .collect()
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// IAM role names: 1 to 64 of letters, digits and `+=,.@_-`.
fn is_role_name(s: &str) -> bool {
    (1..=MAX_ROLE_NAME_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// The ids of `field`, checked and deduplicated in linear time.
fn account_list(field: &str, given: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for a in given.unwrap_or_default() {
        let a = a.trim().to_string();
        if a.is_empty() {
            continue;
        }
        if !is_account_id(&a) {
            return Err(Error::config(format!(
                "organization.{field}: '{a}' is not an AWS account id (12 digits, like 111122223333)"
            )));
        }
        if seen.insert(a.clone()) {
            out.push(a);
        }
    }
    Ok(out)
}

pub fn validate(raw: RawOrganization) -> Result<Organization, Error> {
    let name = credential_field("organization.member_role_name", Some(&raw.member_role_name))?
        .ok_or_else(|| {
            Error::config("organization.member_role_name is empty: name the role to assume in every account, like cloudtrail-reader")
        })?;
    if name.starts_with("arn:") || name.contains('/') {
        return Err(Error::config(format!(
            "organization.member_role_name must be a role name, not an ARN or a path: got '{name}' (the connector builds arn:aws:iam::<account>:role/<name> for each account)"
        )));
    }
    if !is_role_name(&name) {
        return Err(Error::config(format!(
            "organization.member_role_name '{name}' is not an IAM role name (1 to {MAX_ROLE_NAME_LEN} letters, digits and +=,.@_-)"
        )));
    }
    let external_id = Secret::checked(
        "organization.member_role_external_id",
        raw.member_role_external_id,
    )?;
    let exclude = account_list("exclude_accounts", raw.exclude_accounts)?;
    let explicit = raw
        .accounts
        .as_ref()
        .is_some_and(|a| a.iter().any(|a| !a.trim().is_empty()));
    let accounts = match explicit {
        false => None,
        true => {
            let listed = account_list("accounts", raw.accounts)?;
            let excluded: HashSet<&String> = exclude.iter().collect();
            let kept: Vec<String> = listed
                .iter()
                .filter(|a| !excluded.contains(a))
                .cloned()
                .collect();
            if kept.is_empty() {
                return Err(Error::config(
                    "organization.exclude_accounts excludes every account of organization.accounts: nothing would be read",
                ));
            }
            Some(kept)
        }
    };
    Ok(Organization {
        member_role_name: name,
        external_id,
        accounts,
        exclude,
    })
}
