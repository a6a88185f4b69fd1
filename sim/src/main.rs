fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(hvr_simulator::cli::run(std::env::args_os().collect()))
}
