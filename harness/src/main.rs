//! The `acura-ha` command line. Errors end here: each is printed once and mapped onto the
//! documented exit codes (see `acura_ha::exit_code`).

mod cli;

fn main() -> std::process::ExitCode {
    let code = cli::main();
    std::process::ExitCode::from(code.clamp(0, 255) as u8)
}
