//! Creates the template's tables, queues and secrets in the emulator, so the
//! local stack and the deployed one cannot drift apart.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;

use super::template::{get, Resolver, Template};
use shared::ids::random_bytes;

/// Region and account the local stack pretends to live in.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// The environment variable whose secret holds the bootstrap admin key.
pub const ADMIN_KEY_ENV: &str = "HOOKLINE_ADMIN_KEY_SECRET";

/// The clients provisioning and the event-source pollers use.
#[derive(Clone, Debug)]
pub struct DevClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// What was created: the resolver for every later `!Ref`/`!GetAtt`, and the
/// bootstrap admin key.
pub struct Provisioned {
    pub resolver: Resolver,
    pub admin_key: String,
}

fn fail(what: &str, e: impl std::error::Error) -> String {
    let mut msg = format!("{what}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

fn s(v: &Value, key: &str) -> Option<String> {
    get(v, key).and_then(|x| x.as_str().map(str::to_owned).or_else(|| x.as_u64().map(|n| n.to_string())))
}

fn key_schema(list: Option<&Value>) -> Result<Vec<KeySchemaElement>, String> {
    list.and_then(Value::as_sequence)
        .ok_or("KeySchema missing")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(s(k, "AttributeName").unwrap_or_default())
                .key_type(KeyType::from(s(k, "KeyType").unwrap_or_default().as_str()))
                .build()
                .map_err(|e| fail("KeySchema", e))
        })
        .collect()
}

/// Creates everything and returns how to resolve references to it. Safe to
/// run again on a provisioned stack: what exists is kept (secrets keep their
/// values), and `admin_key`, when given, replaces the bootstrap key.
pub async fn provision(
    template: &Template,
    clients: &DevClients,
    stack: &str,
    parameters: HashMap<String, String>,
    admin_key: Option<String>,
) -> Result<Provisioned, String> {
    let mut r = Resolver { parameters, ..Resolver::default() };
    for (k, v) in [
        ("AWS::StackName", stack),
        ("AWS::Region", REGION),
        ("AWS::AccountId", ACCOUNT),
        ("AWS::Partition", "aws"),
        ("AWS::URLSuffix", "amazonaws.com"),
    ] {
        r.pseudo.insert(k.into(), v.into());
    }
    for (id, res) in template.of_type("AWS::DynamoDB::Table") {
        create_table(clients, &mut r, &format!("{stack}-{id}"), id, &res.properties).await?;
    }
    create_queues(template, clients, &mut r, stack).await?;
    let admin_secret = template
        .functions()
        .map_err(|e| e.to_string())?
        .iter()
        .find_map(|f| f.environment.get(ADMIN_KEY_ENV).cloned())
        .and_then(|v| match v {
            Value::Tagged(t) => t.value.as_str().map(str::to_owned),
            _ => None,
        });
    let mut admin_value = None;
    for (id, res) in template.of_type("AWS::SecretsManager::Secret") {
        let is_admin = admin_secret.as_deref() == Some(id.as_str());
        let wanted = if is_admin { admin_key.clone() } else { None };
        // A new admin key has the shape of every other API key.
        let fresh = is_admin.then(shared::crypto::generate_api_key);
        let (arn, value) = create_secret(clients, &format!("{stack}/{id}"), &res.properties, wanted, fresh).await?;
        r.refs.insert(id.clone(), arn.clone());
        r.attributes.insert(format!("{id}.Id"), arn);
        if is_admin {
            admin_value = Some(value);
        }
    }
    for (id, _) in template.of_type("AWS::Serverless::HttpApi") {
        r.refs.insert(id.clone(), "local".into());
    }
    for (id, _) in template.of_type("AWS::Serverless::Function") {
        r.refs.insert(id.clone(), format!("{stack}-{id}"));
        r.attributes.insert(format!("{id}.Arn"), format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{stack}-{id}"));
    }
    let admin_key = admin_value.ok_or_else(|| format!("no secret is referenced by {ADMIN_KEY_ENV} in the template"))?;
    Ok(Provisioned { resolver: r, admin_key })
}

async fn create_table(clients: &DevClients, r: &mut Resolver, name: &str, id: &str, p: &Value) -> Result<(), String> {
    let attributes = get(p, "AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| format!("{id}: AttributeDefinitions missing"))?
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(s(a, "AttributeName").unwrap_or_default())
                .attribute_type(ScalarAttributeType::from(s(a, "AttributeType").unwrap_or_default().as_str()))
                .build()
                .map_err(|e| fail("AttributeDefinitions", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(get(p, "KeySchema"))?));
    for gsi in get(p, "GlobalSecondaryIndexes").and_then(Value::as_sequence).into_iter().flatten() {
        let projection = get(gsi, "Projection");
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(
                projection.and_then(|p| s(p, "ProjectionType")).unwrap_or("ALL".into()).as_str(),
            ))
            .set_non_key_attributes(
                projection
                    .and_then(|p| get(p, "NonKeyAttributes"))
                    .and_then(Value::as_sequence)
                    .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
            )
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(s(gsi, "IndexName").unwrap_or_default())
                .set_key_schema(Some(key_schema(get(gsi, "KeySchema"))?))
                .projection(projection)
                .build()
                .map_err(|e| fail("GlobalSecondaryIndexes", e))?,
        );
    }
    if let Some(view) = get(p, "StreamSpecification").and_then(|st| s(st, "StreamViewType")) {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| fail("StreamSpecification", e))?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception()) => {}
        Err(e) => return Err(fail(&format!("create table {name}"), e)),
    }
    let described =
        clients.dynamodb.describe_table().table_name(name).send().await.map_err(|e| fail("describe table", e))?;
    let table = described.table.ok_or("describe table: no table")?;
    if let Some(ttl) =
        get(p, "TimeToLiveSpecification").filter(|t| get(t, "Enabled").and_then(Value::as_bool) == Some(true))
    {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(s(ttl, "AttributeName").unwrap_or_default())
            .enabled(true)
            .build()
            .map_err(|e| fail("TimeToLiveSpecification", e))?;
        // Enabling TTL twice is an error; an already-enabled TTL is fine.
        let _ = clients.dynamodb.update_time_to_live().table_name(name).time_to_live_specification(spec).send().await;
    }
    r.refs.insert(id.into(), name.into());
    r.attributes.insert(format!("{id}.Arn"), table.table_arn.unwrap_or_default());
    if let Some(stream) = table.latest_stream_arn {
        r.attributes.insert(format!("{id}.StreamArn"), stream);
    }
    Ok(())
}

async fn create_queues(template: &Template, clients: &DevClients, r: &mut Resolver, stack: &str) -> Result<(), String> {
    // Every queue first, then redrive policies, which name other queues' ARNs.
    let queues: Vec<_> = template.of_type("AWS::SQS::Queue").collect();
    for (id, res) in &queues {
        let name = format!("{stack}-{id}");
        let mut request = clients.sqs.create_queue().queue_name(&name);
        for (prop, attr) in [
            ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
            ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
            ("DelaySeconds", QueueAttributeName::DelaySeconds),
            ("ReceiveMessageWaitTimeSeconds", QueueAttributeName::ReceiveMessageWaitTimeSeconds),
            ("MaximumMessageSize", QueueAttributeName::MaximumMessageSize),
        ] {
            if let Some(v) = s(&res.properties, prop) {
                request = request.attributes(attr, v);
            }
        }
        let url =
            request.send().await.map_err(|e| fail(&format!("create queue {name}"), e))?.queue_url.unwrap_or_default();
        let attrs = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| fail("get queue attributes", e))?;
        let arn = attrs.attributes.and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned()).unwrap_or_default();
        r.refs.insert((*id).clone(), url.clone());
        r.attributes.insert(format!("{id}.Arn"), arn);
        r.attributes.insert(format!("{id}.QueueName"), name);
        r.attributes.insert(format!("{id}.QueueUrl"), url);
    }
    for (id, res) in &queues {
        let Some(redrive) = get(&res.properties, "RedrivePolicy") else {
            continue;
        };
        let target = get(redrive, "deadLetterTargetArn")
            .ok_or_else(|| format!("{id}: RedrivePolicy needs deadLetterTargetArn"))?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": r.resolve(target).map_err(|e| e.to_string())?,
            "maxReceiveCount": s(redrive, "maxReceiveCount").unwrap_or_else(|| "5".into()),
        });
        clients
            .sqs
            .set_queue_attributes()
            .queue_url(&r.refs[id.as_str()])
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await
            .map_err(|e| fail("set redrive policy", e))?;
    }
    Ok(())
}

/// Letters and digits, as `GenerateSecretString` with `ExcludePunctuation`.
fn generate_secret(length: usize) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(length);
    while out.len() < length {
        for b in random_bytes::<64>() {
            // 248 is the largest multiple of 62 below 256: no modulo bias.
            if b < 248 && out.len() < length {
                out.push(ALNUM[(b % 62) as usize] as char);
            }
        }
    }
    out
}

async fn create_secret(
    clients: &DevClients,
    name: &str,
    p: &Value,
    wanted: Option<String>,
    fresh: Option<String>,
) -> Result<(String, String), String> {
    let length =
        get(p, "GenerateSecretString").and_then(|g| s(g, "PasswordLength")).and_then(|l| l.parse().ok()).unwrap_or(32);
    let value = wanted.clone().or(fresh).unwrap_or_else(|| generate_secret(length));
    match clients.secrets.create_secret().name(name).secret_string(&value).send().await {
        Ok(out) => Ok((out.arn.unwrap_or_default(), value)),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => {
            // Re-running against a long-lived emulator: keep its value unless told otherwise.
            if let Some(v) = wanted {
                clients
                    .secrets
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(&v)
                    .send()
                    .await
                    .map_err(|e| fail("put secret", e))?;
            }
            let out =
                clients.secrets.get_secret_value().secret_id(name).send().await.map_err(|e| fail("get secret", e))?;
            Ok((out.arn.unwrap_or_default(), out.secret_string.unwrap_or_default()))
        }
        Err(e) => Err(fail(&format!("create secret {name}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::generate_secret;

    #[test]
    fn generated_secrets_are_alphanumeric_of_the_asked_length() {
        let s = generate_secret(64);
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(s, generate_secret(64));
    }
}
