//! Each function's role as the deployed stack would have it: the template
//! translated to CloudFormation by the pinned aws-sam-translator (in `.venv`,
//! the same code `sam deploy` runs), so SAM's policy templates and the grants
//! SAM adds for event sources expand exactly as they would on AWS. The
//! translation is cached by the template's hash; intrinsics are resolved
//! against the stack `hookline dev` created.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::iam::{Policy, Statement};
use super::template::Resolver;

const SCRIPT: &str = include_str!("sam_roles.py");

/// Each function's role, unresolved: `{logical id: {role, managed, statements}}`.
pub type Translated = Json;

/// The Python that has aws-sam-translator: `.venv`'s, beside `moto_server`.
fn python() -> PathBuf {
    super::moto::venv_python()
}

/// Translates `template` (once per content; later calls read the cache).
pub fn translate(template: &Path) -> Result<Translated, String> {
    static MEMO: OnceLock<Mutex<HashMap<String, Translated>>> = OnceLock::new();
    let raw = std::fs::read(template).map_err(|e| format!("cannot read {}: {e}", template.display()))?;
    let hash = hex::encode(Sha256::new().chain_update(&raw).chain_update(SCRIPT).finalize());
    let memo = MEMO.get_or_init(Default::default);
    if let Some(t) = memo.lock().expect("roles memo").get(&hash) {
        return Ok(t.clone());
    }
    let dir = std::env::temp_dir().join("hookline-roles");
    let cached = dir.join(format!("{hash}.json"));
    let text = match std::fs::read_to_string(&cached) {
        Ok(text) => text,
        Err(_) => {
            let python = python();
            let out = std::process::Command::new(&python)
                .arg("-c")
                .arg(SCRIPT)
                .arg(template)
                .env("AWS_DEFAULT_REGION", super::provision::REGION)
                .output()
                .map_err(|e| {
                    format!(
                        "IAM enforcement needs aws-sam-translator ({}: {e}); run `make venv`, or set HOOKLINE_IAM=off",
                        python.display()
                    )
                })?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let last = stderr.lines().last().unwrap_or("no output");
                return Err(format!("translating {} with aws-sam-translator failed: {last}", template.display()));
            }
            let text = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
            // Several test processes may translate at once: write, then rename.
            let _ = std::fs::create_dir_all(&dir);
            let partial = dir.join(format!("{hash}.{}.tmp", std::process::id()));
            if std::fs::write(&partial, &text).is_ok() {
                let _ = std::fs::rename(&partial, &cached);
            }
            text
        }
    };
    let translated: Translated = serde_json::from_str(&text).map_err(|e| format!("translated roles: {e}"))?;
    memo.lock().expect("roles memo").insert(hash, translated.clone());
    Ok(translated)
}

fn strings(v: &Json) -> Vec<Json> {
    match v {
        Json::Array(items) => items.clone(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// The AWS managed policies SAM attaches for logs and event sources. Their
/// documents are AWS's, not in the template; only these are known here.
fn managed(arn: &str) -> Result<Statement, String> {
    let name = arn.rsplit('/').next().unwrap_or_default();
    let logs = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"];
    let extra: &[&str] = match name {
        "AWSLambdaBasicExecutionRole" => &[],
        "AWSLambdaSQSQueueExecutionRole" => &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "AWSLambdaDynamoDBExecutionRole" => {
            &["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
        }
        _ => return Err(format!("hookline dev does not know the managed policy {arn}")),
    };
    Ok(Statement {
        allow: true,
        actions: logs.iter().chain(extra).map(|s| s.to_string()).collect(),
        resources: vec!["*".into()],
    })
}

/// Resolves one translated statement. A statement with a condition is
/// skipped: none of SAM's templates the stack uses carries one, and an
/// allow that holds only sometimes must not be read as always.
fn statement(raw: &Json, resolver: &Resolver) -> Result<Option<Statement>, String> {
    if raw.get("Condition").is_some() || raw.get("NotAction").is_some() || raw.get("NotResource").is_some() {
        return Ok(None);
    }
    let text = |v: &Json| -> Result<String, String> {
        let yaml = serde_yaml::to_value(v).map_err(|e| e.to_string())?;
        resolver.resolve(&yaml).map_err(|e| e.to_string())
    };
    let actions = strings(raw.get("Action").unwrap_or(&Json::Null)).iter().map(text).collect::<Result<_, _>>()?;
    let resources = strings(raw.get("Resource").unwrap_or(&Json::Null)).iter().map(text).collect::<Result<_, _>>()?;
    Ok(Some(Statement { allow: raw.get("Effect").and_then(Json::as_str) == Some("Allow"), actions, resources }))
}

/// Every function's policy, by logical id, resolved for this stack.
pub fn policies(translated: &Translated, resolver: &Resolver) -> Result<BTreeMap<String, Policy>, String> {
    let functions = translated.as_object().ok_or("translated roles: not an object")?;
    let mut out = BTreeMap::new();
    for (function, role) in functions {
        let mut statements = Vec::new();
        for arn in strings(&role["managed"]) {
            let yaml = serde_yaml::to_value(&arn).map_err(|e| e.to_string())?;
            statements.push(managed(&resolver.resolve(&yaml).map_err(|e| e.to_string())?)?);
        }
        for raw in strings(&role["statements"]) {
            statements.extend(statement(&raw, resolver).map_err(|e| format!("{function}: {e}"))?);
        }
        let policy = Policy {
            function: function.clone(),
            role: role["role"].as_str().unwrap_or_default().to_owned(),
            statements,
        };
        out.insert(function.clone(), policy);
    }
    Ok(out)
}
