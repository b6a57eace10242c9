//! AWS Organizations ListAccounts: the organization's accounts (the management account first,
//! then members, ACTIVE and SUSPENDED), 20 a page as AWS does, for the management account only.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::emulator::Emulator;
use crate::http::{json_error, response};
use crate::records::ACCOUNT;
use crate::store::ApiError;

/// AWS's largest (and default) page of ListAccounts.
const PAGE: usize = 20;

impl Emulator {
    /// Answers an Organizations call signed by an account (`caller`).
    pub(crate) fn organizations(
        &self,
        caller: &str,
        operation: &str,
        body: &[u8],
    ) -> Response<Full<Bytes>> {
        if operation != "ListAccounts" {
            return json_error(
                StatusCode::BAD_REQUEST,
                &ApiError {
                    code: "UnknownOperationException",
                    message: format!("Unknown operation {operation}"),
                },
            );
        }
        if caller != ACCOUNT {
            return json_error(StatusCode::BAD_REQUEST, &ApiError {
                code: "AccessDeniedException",
                message: format!("You don't have permissions to access this resource. Account {caller} is not the management account or a delegated administrator of the organization."),
            });
        }
        let params: Value = serde_json::from_slice(body).unwrap_or_default();
        let page = params
            .get("MaxResults")
            .and_then(Value::as_u64)
            .map_or(PAGE, |m| (m as usize).clamp(1, PAGE));
        let from = match params.get("NextToken").and_then(Value::as_str) {
            None => 0,
            Some(t) => match t.strip_prefix("accounts-").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => {
                    return json_error(
                        StatusCode::BAD_REQUEST,
                        &ApiError {
                            code: "InvalidInputException",
                            message: "The NextToken is not valid.".into(),
                        },
                    )
                }
            },
        };
        let all = &self.inner.organization;
        let accounts: Vec<Value> = all
            .iter()
            .skip(from)
            .take(page)
            .map(|(id, status)| {
                json!({
                    "Id": id,
                    "Arn": format!("arn:aws:organizations::{ACCOUNT}:account/o-emulated01/{id}"),
                    "Email": format!("aws+{id}@example.com"),
                    "Name": format!("account-{id}"),
                    "Status": status,
                    "State": status,
                    "JoinedMethod": if id == ACCOUNT { "CREATED" } else { "INVITED" },
                    "JoinedTimestamp": 1_600_000_000.0,
                })
            })
            .collect();
        let mut answer = json!({ "Accounts": accounts });
        if from + page < all.len() {
            answer["NextToken"] = json!(format!("accounts-{}", from + page));
        }
        response(
            StatusCode::OK,
            "application/x-amz-json-1.1",
            answer.to_string(),
        )
    }
}
