"""
atheris harness: chat commands on the line door (netsuite/chat/_line.py).

Run by hand (docs/fuzzing.md):
`/tmp/fuzz/bin/python bench/fuzz/fuzz_chat_line.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_chat_line`).
"""

from _cores import check_chat_line, run

if __name__ == "__main__":
    run(check_chat_line)
