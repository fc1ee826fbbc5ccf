"""
atheris harness: the HTTP limit layer (netsuite/web/_http_limits.py).

Run by hand (docs/fuzzing.md): `/tmp/fuzz/bin/python bench/fuzz/fuzz_http.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_http`).
"""

from _cores import check_http, run

if __name__ == "__main__":
    run(check_http)
