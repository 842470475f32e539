//! `kafka-preferred-replica-election` (see `tools::election::preferred`).

fn main() {
    std::process::exit(tools::election::preferred::main_exit_code());
}
