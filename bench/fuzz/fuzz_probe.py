"""
atheris harness: the probe format (netsuite/datagram/_probe.py decode).

Run by hand (docs/fuzzing.md): `/tmp/fuzz/bin/python bench/fuzz/fuzz_probe.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_probe`).
"""

from _cores import check_probe, run

if __name__ == "__main__":
    run(check_probe)
