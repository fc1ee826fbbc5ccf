"""
atheris harness: IRC as the IRC door parses it
(netsuite/chat/_irc_session.py over twisted.words' parsemsg).

Run by hand (docs/fuzzing.md): `/tmp/fuzz/bin/python bench/fuzz/fuzz_irc.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_irc`).
"""

from _cores import check_irc, run

if __name__ == "__main__":
    run(check_irc)
