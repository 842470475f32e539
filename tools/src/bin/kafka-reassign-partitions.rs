//! `kafka-reassign-partitions` (see `tools::reassign`).

fn main() {
    std::process::exit(tools::reassign::main_exit_code());
}
