"""
atheris harness: line framing (netsuite/stream/_lines.py LineSplitter).

Run by hand (docs/fuzzing.md): `/tmp/fuzz/bin/python bench/fuzz/fuzz_lines.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_lines`).
"""

from _cores import check_lines, run

if __name__ == "__main__":
    run(check_lines)
