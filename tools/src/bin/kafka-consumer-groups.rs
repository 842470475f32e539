//! `kafka-consumer-groups` (see `tools::consumer_groups`).

fn main() {
    std::process::exit(tools::consumer_groups::main_exit_code());
}
