//! `acura-ha plan FILE`: the resolved steps and every command, without touching anything.

use std::path::PathBuf;

use acura_ha::{exit_code, scenario, steps, Result};

#[derive(clap::Args)]
pub struct Args {
    file: PathBuf,
    /// Write the plan as JSON here (`-`: stdout, instead of the text).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<i32> {
    let loaded = scenario::load(&args.file)?;
    let plan = steps::plan(&loaded);
    if let Some(path) = &args.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            scenario: &'a str,
            provider: &'a str,
            steps: &'a [steps::PlannedStep],
        }
        super::write_json(
            path,
            "plan",
            &Doc {
                scenario: &loaded.scenario.name,
                provider: loaded.scenario.provider.as_str(),
                steps: &plan,
            },
        )?;
        if super::json_to_stdout(&args.json) {
            return Ok(exit_code::PASSED);
        }
    }
    outln!(
        "scenario {} on {}: {} steps",
        loaded.scenario.name,
        loaded.scenario.provider.as_str(),
        plan.len()
    );
    for step in &plan {
        outln!(
            "\n{:>2}. {} (line {})",
            step.index + 1,
            step.name,
            step.line
        );
        for a in &step.actions {
            outln!("      - {a}");
        }
        for c in &step.commands {
            let id = c.id.map(|i| i.to_string()).unwrap_or_default();
            let when = c
                .conditional
                .map(|w| format!("   # {w}"))
                .unwrap_or_default();
            let mut lines = c.command.lines();
            outln!(
                "      {id:<4}{:<9}$ {}{when}",
                c.host,
                lines.next().unwrap_or("")
            );
            for l in lines {
                outln!("      {:<13}  {l}", "");
            }
        }
    }
    Ok(exit_code::PASSED)
}
