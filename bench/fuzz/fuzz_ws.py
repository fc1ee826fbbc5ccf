"""
atheris harness: WebSocket frames as the chat door reads them
(FrameGuard, wsproto, WebChatSession).

Run by hand (docs/fuzzing.md): `/tmp/fuzz/bin/python bench/fuzz/fuzz_ws.py -max_total_time=60`.
The property and its checks: bench/fuzz/_cores.py (`check_ws`).
"""

from _cores import check_ws, run

if __name__ == "__main__":
    run(check_ws)
