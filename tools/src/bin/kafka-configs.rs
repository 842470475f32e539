//! `kafka-configs`: dynamic config overrides in ZooKeeper (see `tools::configs`).

fn main() {
    std::process::exit(tools::configs::main_exit_code());
}
