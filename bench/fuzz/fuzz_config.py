"""
atheris harness: the config parser (netsuite/twistd/_config.py load).

Run by hand (docs/fuzzing.md): `/tmp/fuzz/bin/python bench/fuzz/fuzz_config.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_config`).
"""

from _cores import check_config, run

if __name__ == "__main__":
    run(check_config)
