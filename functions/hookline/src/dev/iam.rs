//! IAM enforcement for the in-process functions. moto matches no IAM
//! resources, so `hookline dev` checks every request a function sends
//! against the policy its deployed role would have (see `roles`), and
//! refuses what AWS would refuse before anything reaches the emulator: an
//! `AccessDeniedException` answer, as the service itself gives.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use serde_json::Value;

use super::provision::{ACCOUNT, REGION};

/// One statement of a role's policies, with every intrinsic resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// What one function's role allows.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The function's logical id in the template.
    pub function: String,
    /// Its role's logical id in the translated template.
    pub role: String,
    pub statements: Vec<Statement>,
}

/// `*` matches any run of characters and `?` one, as in IAM.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        let action = action.to_ascii_lowercase();
        self.actions.iter().any(|a| glob(&a.to_ascii_lowercase(), &action))
            && self.resources.iter().any(|r| glob(r, resource))
    }
}

impl Policy {
    /// IAM's rule: an explicit deny wins, then any allow, else denied.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let matching = || self.statements.iter().filter(|s| s.matches(action, resource));
        !matching().any(|s| !s.allow) && matching().any(|s| s.allow)
    }
}

/// One action on one resource that a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub action: String,
    pub resource: String,
}

/// A request refused: which function, action and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub function: String,
    pub action: String,
    pub resource: String,
}

/// Every refusal of one platform, oldest first (each is also logged at WARN).
pub type Denials = Arc<Mutex<Vec<Denial>>>;

/// The resource of a request whose ARN the request does not carry (a stream
/// read by shard iterator, a listing): only a `*` grant covers it.
const UNNAMED: &str = "*";

fn table_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
    }
}

fn queue_arn(url: &str) -> String {
    // https://host/{account}/{name}
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().filter(|a| a.chars().all(|c| c.is_ascii_digit()) && !a.is_empty()).unwrap_or(ACCOUNT);
    format!("arn:aws:sqs:{REGION}:{account}:{name}")
}

fn secret_arn(id: &str) -> String {
    if id.starts_with("arn:") {
        id.to_owned()
    } else {
        format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}")
    }
}

fn access(action: impl Into<String>, resource: impl Into<String>) -> Access {
    Access { action: action.into(), resource: resource.into() }
}

/// Every action and resource a request needs, from its `X-Amz-Target` and
/// JSON body (the protocol all three SDKs speak). A batch or a transaction
/// needs its action on every table it names.
pub fn accesses(target: &str, body: &Value) -> Result<Vec<Access>, String> {
    let (service, operation) = target.split_once('.').ok_or_else(|| format!("unknown target {target}"))?;
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
    let tables = |name: &str| -> Vec<String> {
        body.get(name).and_then(Value::as_object).map(|m| m.keys().map(|t| table_arn(t)).collect()).unwrap_or_default()
    };
    Ok(match service {
        "DynamoDB_20120810" => match operation {
            "BatchWriteItem" | "BatchGetItem" => {
                tables("RequestItems").into_iter().map(|t| access(format!("dynamodb:{operation}"), t)).collect()
            }
            "TransactWriteItems" | "TransactGetItems" => {
                let mut out = Vec::new();
                for item in body.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                    for (kind, action) in [
                        ("Put", "PutItem"),
                        ("Update", "UpdateItem"),
                        ("Delete", "DeleteItem"),
                        ("ConditionCheck", "ConditionCheckItem"),
                        ("Get", "GetItem"),
                    ] {
                        if let Some(table) = item.get(kind).and_then(|k| k.get("TableName")).and_then(Value::as_str) {
                            out.push(access(format!("dynamodb:{action}"), table_arn(table)));
                        }
                    }
                }
                out
            }
            "ListTables" => vec![access("dynamodb:ListTables", UNNAMED)],
            _ => {
                let mut resource = table_arn(field("TableName"));
                if let Some(index) = body.get("IndexName").and_then(Value::as_str) {
                    resource = format!("{resource}/index/{index}");
                }
                vec![access(format!("dynamodb:{operation}"), resource)]
            }
        },
        "DynamoDBStreams_20120810" => {
            let stream = body.get("StreamArn").and_then(Value::as_str).unwrap_or(UNNAMED);
            vec![access(format!("dynamodb:{operation}"), stream)]
        }
        "AmazonSQS" => {
            // The batch calls are authorized as their single forms.
            let action = operation.strip_suffix("Batch").unwrap_or(operation);
            let resource = match operation {
                "GetQueueUrl" => queue_arn(field("QueueName")),
                "ListQueues" => UNNAMED.to_owned(),
                _ => queue_arn(field("QueueUrl")),
            };
            vec![access(format!("sqs:{action}"), resource)]
        }
        "secretsmanager" => vec![access(format!("secretsmanager:{operation}"), secret_arn(field("SecretId")))],
        _ => return Err(format!("hookline dev does not know the IAM actions of {target}")),
    })
}

/// The first access `policy` does not allow, if any.
pub fn check(policy: &Policy, target: &str, body: &[u8]) -> Result<(), Access> {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let needed = accesses(target, &parsed).map_err(|_| access(target.to_owned(), UNNAMED))?;
    match needed.into_iter().find(|a| !policy.allows(&a.action, &a.resource)) {
        Some(denied) => Err(denied),
        None => Ok(()),
    }
}

/// The answer AWS gives a request its caller's policies do not allow.
fn denied_response(policy: &Policy, target: &str, denied: &Access) -> HttpResponse {
    let message = format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function} is not authorized to perform: {action} on \
         resource: {resource} because no identity-based policy allows the {action} action (hookline dev: \
         function {function}, template.yaml Policies)",
        role = policy.role,
        function = policy.function,
        action = denied.action,
        resource = denied.resource,
    );
    let body = serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message});
    let mut response =
        HttpResponse::new(400.try_into().expect("400 is a status"), SdkBody::from(body.to_string().into_bytes()));
    response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
    if target.starts_with("AmazonSQS.") {
        // SQS's query-compatible error code for the same refusal.
        response.headers_mut().insert("x-amzn-query-error", "AccessDenied;Sender");
    }
    response
}

#[derive(Debug)]
struct EnforcingConnector {
    inner: SharedHttpConnector,
    policy: Arc<Policy>,
    denials: Denials,
}

impl HttpConnector for EnforcingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or_default().to_owned();
        let body = request.body().bytes().unwrap_or_default();
        match check(&self.policy, &target, body) {
            Ok(()) => self.inner.call(request),
            Err(denied) => {
                tracing::warn!(
                    function = %self.policy.function,
                    action = %denied.action,
                    resource = %denied.resource,
                    "access denied by the function's IAM policy"
                );
                self.denials.lock().expect("denials lock").push(Denial {
                    function: self.policy.function.clone(),
                    action: denied.action.clone(),
                    resource: denied.resource.clone(),
                });
                HttpConnectorFuture::ready(Ok(denied_response(&self.policy, &target, &denied)))
            }
        }
    }
}

#[derive(Debug)]
struct EnforcingClient {
    inner: SharedHttpClient,
    policy: Arc<Policy>,
    denials: Denials,
}

impl HttpClient for EnforcingClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(EnforcingConnector {
            inner: self.inner.http_connector(settings, components),
            policy: self.policy.clone(),
            denials: self.denials.clone(),
        })
    }
}

/// The HTTP client every SDK client of `hookline dev` sends through.
pub fn base_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build_https()
}

/// `sdk` with its requests checked against `policy`; refusals are added to `denials`.
pub fn enforcing(sdk: &SdkConfig, base: &SharedHttpClient, policy: Policy, denials: &Denials) -> SdkConfig {
    let client = EnforcingClient { inner: base.clone(), policy: Arc::new(policy), denials: denials.clone() };
    sdk.to_builder().http_client(SharedHttpClient::new(client)).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(statements: Vec<Statement>) -> Policy {
        Policy { function: "Fn".into(), role: "FnRole".into(), statements }
    }

    fn allow(actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            allow: true,
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
        }
    }

    const EVENTS: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/s-EventsTable";

    #[test]
    fn wildcards_match_as_iam_matches_them() {
        assert!(glob("arn:*:table/x", "arn:aws:dynamodb:r:1:table/x"));
        assert!(glob("table/x/index/*", "table/x/index/by_tenant"));
        assert!(!glob("table/x/index/*", "table/x"));
        assert!(glob("sqs:SendMessage*", "sqs:SendMessage"));
        assert!(glob("a?c", "abc") && !glob("a?c", "ac"));
        assert!(glob("*", "anything"));
    }

    #[test]
    fn an_explicit_deny_beats_an_allow_and_nothing_is_allowed_by_default() {
        let mut p = policy(vec![allow(&["dynamodb:GetItem", "dynamodb:PutItem"], &[EVENTS])]);
        assert!(p.allows("dynamodb:PutItem", EVENTS));
        assert!(p.allows("DynamoDB:putitem", EVENTS), "actions are case-insensitive");
        assert!(!p.allows("dynamodb:DeleteItem", EVENTS));
        assert!(!p.allows("dynamodb:PutItem", &EVENTS.replace("Events", "Deliveries")));
        p.statements.push(Statement { allow: false, ..allow(&["dynamodb:Put*"], &["*"]) });
        assert!(!p.allows("dynamodb:PutItem", EVENTS));
    }

    #[test]
    fn a_transaction_needs_each_items_action_on_each_table() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "s-EventsTable"}},
            {"ConditionCheck": {"TableName": "s-IdempotencyTable"}},
            {"Update": {"TableName": "arn:aws:dynamodb:us-east-1:123456789012:table/s-DeliveriesTable"}},
        ]});
        let got = accesses("DynamoDB_20120810.TransactWriteItems", &body).unwrap();
        assert_eq!(
            got,
            vec![
                access("dynamodb:PutItem", EVENTS),
                access("dynamodb:ConditionCheckItem", EVENTS.replace("Events", "Idempotency")),
                access("dynamodb:UpdateItem", EVENTS.replace("Events", "Deliveries")),
            ]
        );
        let p = policy(vec![allow(&["dynamodb:PutItem", "dynamodb:UpdateItem"], &["arn:aws:dynamodb:*:*:table/*"])]);
        let denied = check(&p, "DynamoDB_20120810.TransactWriteItems", body.to_string().as_bytes()).unwrap_err();
        assert_eq!(denied.action, "dynamodb:ConditionCheckItem");
    }

    #[test]
    fn batches_indexes_queues_and_secrets_name_their_resources() {
        let batch = json!({"RequestItems": {"s-EventsTable": [], "s-DeliveriesTable": []}});
        let got = accesses("DynamoDB_20120810.BatchWriteItem", &batch).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|a| a.action == "dynamodb:BatchWriteItem"));
        let query = json!({"TableName": "s-SourcesTable", "IndexName": "by_tenant"});
        assert_eq!(
            accesses("DynamoDB_20120810.Query", &query).unwrap()[0].resource,
            "arn:aws:dynamodb:us-east-1:123456789012:table/s-SourcesTable/index/by_tenant"
        );
        let send = json!({"QueueUrl": "http://127.0.0.1:5000/123456789012/s-DeliveryQueue"});
        assert_eq!(
            accesses("AmazonSQS.SendMessageBatch", &send).unwrap(),
            vec![access("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:s-DeliveryQueue")]
        );
        let secret = json!({"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s/DataKey-AbCdEf"});
        assert_eq!(
            accesses("secretsmanager.GetSecretValue", &secret).unwrap()[0].resource,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s/DataKey-AbCdEf"
        );
    }

    #[test]
    fn an_unknown_service_is_refused() {
        let p = policy(vec![allow(&["*"], &["*"])]);
        assert!(check(&p, "Kinesis_20131202.PutRecord", b"{}").is_err());
    }
}
