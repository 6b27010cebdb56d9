//! Each function reads only the variables `template.yaml` sets for it
//! (Globals plus its own): a variable read but not set would take its
//! default, or fail the cold start, only once deployed.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use hookline::dev::functions;
use hookline::dev::template::Template;
use hookline::dev::PASSTHROUGH_ENV;

fn project_template() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap()
}

/// `(function, variable)` for every variable a function's code reads that
/// the template does not set for it.
fn read_but_unset(template: &Template) -> Vec<(String, String)> {
    let sdk = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).region(Region::new("us-east-1")).build();
    let mut missing = Vec::new();
    for f in template.functions().unwrap() {
        // A plausible value for each variable: a parameter's default, else a name.
        let value = |name: &str| -> String {
            let param = f.environment.get(name).and_then(|v| match v {
                serde_yaml::Value::Tagged(t) => t.value.as_str().map(str::to_owned),
                _ => None,
            });
            match param.and_then(|p| template.parameters.get(&p).cloned().flatten()) {
                Some(default) => default,
                None => format!("local-{name}"),
            }
        };
        let read = RefCell::new(BTreeSet::new());
        let lookup = |name: &str| {
            read.borrow_mut().insert(name.to_owned());
            f.environment.contains_key(name).then(|| value(name))
        };
        let built = functions::build(&f.binary, &lookup, &sdk);
        assert!(matches!(built, Ok(Some(_))), "{} builds from its template environment", f.logical_id);
        for name in read.into_inner() {
            if !f.environment.contains_key(&name) && !PASSTHROUGH_ENV.contains(&name.as_str()) {
                missing.push((f.logical_id.clone(), name));
            }
        }
    }
    missing
}

#[test]
fn every_variable_a_function_reads_is_set_for_it_by_the_template() {
    let template = Template::parse(&project_template()).unwrap();
    assert_eq!(template.functions().unwrap().len(), 8);
    assert_eq!(read_but_unset(&template), Vec::<(String, String)>::new());
}

#[test]
fn a_variable_the_template_leaves_out_is_named_with_its_function() {
    // endpoint-health's own variables, dropped from its Environment.
    let text = project_template();
    let start = text.find("          HOOKLINE_HEALTH_FAILURE_THRESHOLD_PERCENT").unwrap();
    let line = |name: &str| text[start..].lines().find(|l| l.contains(name)).unwrap().to_owned();
    let cut = text.replacen(&format!("{}\n", line("HOOKLINE_HEALTH_WINDOW_HOURS")), "", 1);
    let missing = read_but_unset(&Template::parse(&cut).unwrap());
    assert_eq!(missing, vec![("EndpointHealthFunction".to_owned(), "HOOKLINE_HEALTH_WINDOW_HOURS".to_owned())]);
}
