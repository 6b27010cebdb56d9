//! Reads `template.yaml`: parameters, resources, and each function's
//! environment and event sources, resolving the intrinsics the template uses
//! (`!Ref`, `!GetAtt`, `!Sub`, `!Join`) against what `hookline dev` created.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_yaml::Value;

/// A template failed to load or uses something `hookline dev` cannot run.
#[derive(Debug, thiserror::Error)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(msg.into()))
}

/// One resource: its type and properties, unresolved.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

/// The parts of a SAM template `hookline dev` needs.
#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Option<String>>,
    pub resources: BTreeMap<String, Resource>,
    globals_function: Value,
}

/// An event source of a function, as declared.
#[derive(Debug, Clone)]
pub enum EventSource {
    Http { method: String, path: String },
    Sqs { queue_arn: Value, batch_size: usize, report_failures: bool },
    Stream { stream_arn: Value, batch_size: usize, from_start: bool, report_failures: bool, max_retries: i64 },
    Schedule { name: String, expression: String, input: Option<Value>, enabled: bool },
}

/// A function as declared: which binary, its environment, its triggers.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub binary: String,
    pub timeout_seconds: u64,
    pub environment: BTreeMap<String, Value>,
    pub events: Vec<(String, EventSource)>,
}

/// Looks up a key of a YAML mapping.
pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn get_u64(v: &Value, key: &str) -> Option<u64> {
    get(v, key).and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
}

fn get_bool(v: &Value, key: &str) -> Option<bool> {
    get(v, key).and_then(|x| x.as_bool().or_else(|| x.as_str().map(|s| s == "true")))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let raw =
            std::fs::read_to_string(path).map_err(|e| TemplateError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&raw)
    }

    pub fn parse(raw: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(raw).map_err(|e| TemplateError(format!("not valid YAML: {e}")))?;
        let mut parameters = BTreeMap::new();
        if let Some(params) = get(&doc, "Parameters").and_then(Value::as_mapping) {
            for (name, p) in params {
                let name = text(name).ok_or_else(|| TemplateError("a parameter name is not text".into()))?;
                parameters.insert(name, get(p, "Default").and_then(text));
            }
        }
        let mut resources = BTreeMap::new();
        let Some(res) = get(&doc, "Resources").and_then(Value::as_mapping) else {
            return err("no Resources");
        };
        for (id, r) in res {
            let id = text(id).ok_or_else(|| TemplateError("a resource id is not text".into()))?;
            let kind = get(r, "Type").and_then(text).ok_or_else(|| TemplateError(format!("{id} has no Type")))?;
            let properties = get(r, "Properties").cloned().unwrap_or(Value::Null);
            let metadata = get(r, "Metadata").cloned().unwrap_or(Value::Null);
            resources.insert(id, Resource { kind, properties, metadata });
        }
        let globals_function = get(&doc, "Globals").and_then(|g| get(g, "Function")).cloned().unwrap_or(Value::Null);
        Ok(Self { parameters, resources, globals_function })
    }

    /// Resources of one type, by logical id.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Resource)> + 'a {
        self.resources.iter().filter(move |(_, r)| r.kind == kind)
    }

    /// Every `AWS::Serverless::Function`, with Globals applied.
    pub fn functions(&self) -> Result<Vec<FunctionSpec>, TemplateError> {
        let global_env = env_vars(&self.globals_function);
        let global_timeout = get_u64(&self.globals_function, "Timeout").unwrap_or(3);
        let mut out = Vec::new();
        for (id, r) in self.of_type("AWS::Serverless::Function") {
            let binary = get(&r.metadata, "BuildProperties")
                .and_then(|b| get(b, "Binary"))
                .and_then(text)
                .ok_or_else(|| TemplateError(format!("{id} has no Metadata.BuildProperties.Binary")))?;
            let mut environment = global_env.clone();
            environment.extend(env_vars(&r.properties));
            let mut events = Vec::new();
            if let Some(evs) = get(&r.properties, "Events").and_then(Value::as_mapping) {
                for (name, ev) in evs {
                    let name = text(name).unwrap_or_default();
                    let kind = get(ev, "Type").and_then(text).unwrap_or_default();
                    let props = get(ev, "Properties").cloned().unwrap_or(Value::Null);
                    events.push((name.clone(), event_source(id, &name, &kind, &props)?));
                }
            }
            out.push(FunctionSpec {
                logical_id: id.clone(),
                binary,
                timeout_seconds: get_u64(&r.properties, "Timeout").unwrap_or(global_timeout),
                environment,
                events,
            });
        }
        Ok(out)
    }
}

fn env_vars(function_props: &Value) -> BTreeMap<String, Value> {
    get(function_props, "Environment")
        .and_then(|e| get(e, "Variables"))
        .and_then(Value::as_mapping)
        .map(|m| m.iter().filter_map(|(k, v)| Some((text(k)?, v.clone()))).collect())
        .unwrap_or_default()
}

fn event_source(function: &str, name: &str, kind: &str, p: &Value) -> Result<EventSource, TemplateError> {
    let report_failures = get(p, "FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .is_some_and(|s| s.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures")));
    Ok(match kind {
        "HttpApi" => EventSource::Http {
            method: get(p, "Method").and_then(text).unwrap_or_else(|| "ANY".into()).to_ascii_uppercase(),
            path: get(p, "Path").and_then(text).unwrap_or_else(|| "$default".into()),
        },
        "SQS" => EventSource::Sqs {
            queue_arn: get(p, "Queue")
                .cloned()
                .ok_or_else(|| TemplateError(format!("{function}.{name}: SQS needs Queue")))?,
            batch_size: get_u64(p, "BatchSize").unwrap_or(10).clamp(1, 10) as usize,
            report_failures,
        },
        "DynamoDB" => EventSource::Stream {
            stream_arn: get(p, "Stream")
                .cloned()
                .ok_or_else(|| TemplateError(format!("{function}.{name}: DynamoDB needs Stream")))?,
            batch_size: get_u64(p, "BatchSize").unwrap_or(100).clamp(1, 1000) as usize,
            from_start: get(p, "StartingPosition").and_then(text).as_deref() != Some("LATEST"),
            report_failures,
            max_retries: get(p, "MaximumRetryAttempts").and_then(|v| v.as_i64()).unwrap_or(-1),
        },
        "Schedule" | "ScheduleV2" => {
            let expression = get(p, "Schedule")
                .or_else(|| get(p, "ScheduleExpression"))
                .and_then(text)
                .ok_or_else(|| TemplateError(format!("{function}.{name}: a schedule needs an expression")))?;
            let enabled =
                get_bool(p, "Enabled").unwrap_or(true) && get(p, "State").and_then(text).is_none_or(|s| s == "ENABLED");
            EventSource::Schedule {
                name: format!("{function}.{name}"),
                expression,
                input: get(p, "Input").cloned(),
                enabled,
            }
        }
        other => return err(format!("{function}.{name}: event type {other} is not supported by hookline dev")),
    })
}

/// Values of `!Ref` and `!GetAtt` for the stack `hookline dev` built.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    pub parameters: HashMap<String, String>,
    pub refs: HashMap<String, String>,
    pub attributes: HashMap<String, String>,
    pub pseudo: HashMap<String, String>,
}

impl Resolver {
    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        self.parameters
            .get(name)
            .or_else(|| self.refs.get(name))
            .or_else(|| self.pseudo.get(name))
            .cloned()
            .ok_or_else(|| TemplateError(format!("!Ref {name}: nothing by that name was created")))
    }

    fn attribute(&self, path: &str) -> Result<String, TemplateError> {
        self.attributes.get(path).cloned().ok_or_else(|| TemplateError(format!("!GetAtt {path}: unknown attribute")))
    }

    /// Resolves a property value to text.
    pub fn resolve(&self, v: &Value) -> Result<String, TemplateError> {
        if let Some(t) = text(v) {
            return Ok(t);
        }
        let (function, arg) = match v {
            Value::Tagged(tagged) => (tagged.tag.to_string().trim_start_matches('!').to_owned(), &tagged.value),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                (text(k).unwrap_or_default().trim_start_matches("Fn::").to_owned(), arg)
            }
            _ => return err(format!("cannot resolve {v:?}")),
        };
        match function.as_str() {
            "Ref" => self.reference(&text(arg).unwrap_or_default()),
            "GetAtt" => match arg {
                Value::Sequence(parts) => self.attribute(&parts.iter().filter_map(text).collect::<Vec<_>>().join(".")),
                other => self.attribute(&text(other).unwrap_or_default()),
            },
            "Sub" => match arg {
                // [pattern, {name: value}]: the names shadow the stack's own.
                Value::Sequence(parts) if parts.len() == 2 => {
                    let pattern = text(&parts[0]).ok_or_else(|| TemplateError("!Sub needs a text pattern".into()))?;
                    let mut scoped = self.clone();
                    for (name, value) in parts[1].as_mapping().into_iter().flatten() {
                        let name = text(name).unwrap_or_default();
                        scoped.parameters.insert(name, self.resolve(value)?);
                    }
                    scoped.substitute(&pattern)
                }
                other => self.substitute(&text(other).ok_or_else(|| TemplateError("!Sub needs a pattern".into()))?),
            },
            "Join" => {
                let parts = arg
                    .as_sequence()
                    .filter(|s| s.len() == 2)
                    .ok_or_else(|| TemplateError("!Join needs [delimiter, list]".into()))?;
                let delimiter = text(&parts[0]).unwrap_or_default();
                let items = parts[1].as_sequence().ok_or_else(|| TemplateError("!Join needs a list".into()))?;
                Ok(items.iter().map(|i| self.resolve(i)).collect::<Result<Vec<_>, _>>()?.join(&delimiter))
            }
            other => err(format!("intrinsic {other} is not supported by hookline dev")),
        }
    }

    fn substitute(&self, pattern: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end =
                rest[start..].find('}').ok_or_else(|| TemplateError(format!("unclosed ${{ in {pattern}")))? + start;
            let name = &rest[start + 2..end];
            out.push_str(&if name.contains('.') && !name.starts_with("AWS::") {
                self.attribute(name)?
            } else {
                self.reference(name)?
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
Parameters:
  Prefix: {Type: String, Default: X-HMS}
Globals:
  Function:
    Timeout: 30
    Environment:
      Variables:
        TABLE: !Ref Things
        PREFIX: !Ref Prefix
Resources:
  Things:
    Type: AWS::DynamoDB::Table
  Work:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: worker}}
    Properties:
      Environment: {Variables: {QUEUE_ARN: !GetAtt Work.Arn, URL: !Sub "https://${Work}/x/${AWS::Region}"}}
      Events:
        Q: {Type: SQS, Properties: {Queue: !GetAtt Work.Arn, BatchSize: 25, FunctionResponseTypes: [ReportBatchItemFailures]}}
        Nightly: {Type: Schedule, Properties: {Schedule: "cron(0 0 * * ? *)"}}
"#;

    #[test]
    fn functions_inherit_globals_and_list_their_triggers() {
        let t = Template::parse(SAMPLE).unwrap();
        let f = &t.functions().unwrap()[0];
        assert_eq!(f.binary, "worker");
        assert_eq!(f.timeout_seconds, 30);
        assert!(f.environment.contains_key("TABLE") && f.environment.contains_key("QUEUE_ARN"));
        assert!(f
            .events
            .iter()
            .any(|(_, e)| matches!(e, EventSource::Sqs { batch_size: 10, report_failures: true, .. })));
        assert!(f.events.iter().any(|(_, e)| matches!(e, EventSource::Schedule { name, .. } if name == "Fn.Nightly")));
    }

    #[test]
    fn intrinsics_resolve_against_created_resources() {
        let t = Template::parse(SAMPLE).unwrap();
        let f = &t.functions().unwrap()[0];
        let mut r = Resolver::default();
        r.parameters.insert("Prefix".into(), "X-HMS".into());
        r.refs.insert("Things".into(), "dev-Things".into());
        r.refs.insert("Work".into(), "http://q/work".into());
        r.attributes.insert("Work.Arn".into(), "arn:aws:sqs:us-east-1:0:work".into());
        r.pseudo.insert("AWS::Region".into(), "us-east-1".into());
        assert_eq!(r.resolve(&f.environment["TABLE"]).unwrap(), "dev-Things");
        assert_eq!(r.resolve(&f.environment["QUEUE_ARN"]).unwrap(), "arn:aws:sqs:us-east-1:0:work");
        assert_eq!(r.resolve(&f.environment["URL"]).unwrap(), "https://http://q/work/x/us-east-1");
        let with_variables: Value =
            serde_yaml::from_str(r#"{"Fn::Sub": ["arn:${AWS::Region}:${name}/*", {"name": {"Ref": "Things"}}]}"#)
                .unwrap();
        assert_eq!(r.resolve(&with_variables).unwrap(), "arn:us-east-1:dev-Things/*");
        assert!(r
            .resolve(&Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                tag: serde_yaml::value::Tag::new("Ref"),
                value: "Nope".into()
            })))
            .is_err());
    }

    #[test]
    fn the_project_template_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let t = Template::load(Path::new(path)).unwrap();
        let functions = t.functions().unwrap();
        assert!(functions.iter().any(|f| f.binary == "admin-api"));
        assert!(t.parameters.contains_key("SignatureHeaderPrefix"));
    }
}
