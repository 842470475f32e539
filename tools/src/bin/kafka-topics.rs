//! `kafka-topics`: topic administration over ZooKeeper (see `tools::topics`).

fn main() {
    std::process::exit(tools::topics::main_exit_code());
}
