//! Names that changed so that every flag's variable carries the flag's name
//! and meaning. `--stack` (a deployed stack) read `HOOKLINE_STACK_NAME`, while
//! `--stack-name` (the local stack's prefix) read `HOOKLINE_STACK`; they are
//! now `--deployed-stack`/`HOOKLINE_DEPLOYED_STACK` and
//! `--local-stack`/`HOOKLINE_LOCAL_STACK`. The old names keep working until
//! the next release, each use answered with a note on stderr.

/// A name and the one that replaced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renamed {
    pub old: &'static str,
    pub new: &'static str,
}

/// Old flags, kept as hidden aliases of the new ones.
pub const FLAGS: &[Renamed] =
    &[Renamed { old: "--stack", new: "--deployed-stack" }, Renamed { old: "--stack-name", new: "--local-stack" }];

/// Old variables, read when the new one is unset.
pub const VARIABLES: &[Renamed] = &[
    Renamed { old: "HOOKLINE_STACK_NAME", new: "HOOKLINE_DEPLOYED_STACK" },
    Renamed { old: "HOOKLINE_STACK", new: "HOOKLINE_LOCAL_STACK" },
];

/// The note printed when an old name is used.
pub fn note(r: &Renamed) -> String {
    format!("hookline: note: {} is now {}; the old name works until the next release", r.old, r.new)
}

/// The old flags on a command line (before any `--`), as `--stack` or `--stack=NAME`.
pub fn old_flags(argv: &[String]) -> Vec<Renamed> {
    let args = argv.iter().skip(1).take_while(|a| a.as_str() != "--");
    let mut used: Vec<Renamed> = Vec::new();
    for arg in args {
        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
        if let Some(r) = FLAGS.iter().find(|r| r.old == name) {
            if !used.contains(r) {
                used.push(*r);
            }
        }
    }
    used
}

/// The value of the old variable that `new` replaced, when `new` gave none:
/// `lookup` reads the environment. The caller prints `note` for it.
pub fn old_variable(new: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<(Renamed, String)> {
    let r = VARIABLES.iter().find(|r| r.new == new)?;
    let value = lookup(r.old).filter(|v| !v.is_empty())?;
    Some((*r, value))
}

/// [`old_variable`] from this process's environment, noting its use on stderr.
pub fn old_variable_from_env(new: &str) -> Option<String> {
    let (r, value) = old_variable(new, |k| std::env::var(k).ok())?;
    eprintln!("{}", note(&r));
    Some(value)
}

/// The footer of every `--help`: the order values are looked up in, and the
/// old names still accepted. `hookline dev` writes the state file rather than
/// reading it, so its footer (`state_file` None) leaves the file out.
pub fn help_footer(state_file: Option<&std::path::Path>) -> String {
    let renamed: Vec<String> = FLAGS
        .iter()
        .zip(VARIABLES)
        .map(|(f, v)| format!("{} and {} (now {} and {})", f.old, v.old, f.new, v.new))
        .collect();
    let sources = match state_file {
        Some(file) => format!(
            "the flag; its variable (shown as [env: ...]); for the local stack, the state file of the \
             running `hookline dev` ({}); then the default. The local stack's emulator is \
             $AWS_ENDPOINT_URL, else the state file's",
            file.display()
        ),
        None => "the flag; its variable (shown as [env: ...]); then the default".to_owned(),
    };
    format!(
        "Where each value comes from, the first found wins: {sources}.\n\n\
         Old names, accepted until the next release: {}.",
        renamed.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn old_flags_are_found_with_or_without_an_equals_sign() {
        assert_eq!(old_flags(&argv("hookline --stack prod prune --days 3")), vec![FLAGS[0]]);
        assert_eq!(old_flags(&argv("hookline prune --stack-name=hl --days 3")), vec![FLAGS[1]]);
        assert!(old_flags(&argv("hookline --deployed-stack prod prune --local-stack hl")).is_empty());
        assert!(old_flags(&argv("hookline events publish -- --stack")).is_empty());
    }

    #[test]
    fn an_old_variable_counts_only_when_it_has_a_value() {
        let env = |k: &str| (k == "HOOKLINE_STACK").then(|| "hl".to_owned());
        assert_eq!(old_variable("HOOKLINE_LOCAL_STACK", env), Some((VARIABLES[1], "hl".into())));
        assert_eq!(old_variable("HOOKLINE_DEPLOYED_STACK", env), None);
        assert_eq!(old_variable("HOOKLINE_LOCAL_STACK", |_| Some(String::new())), None);
    }
}
