//! `kafka-leader-election` (see `tools::election::leader`).

fn main() {
    std::process::exit(tools::election::leader::main_exit_code());
}
