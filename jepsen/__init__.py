"""Jepsen-style failure scripts for this Kafka: runner, nemeses, workload, checker, report."""
