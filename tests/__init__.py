"""
netsuite's tests.

Several tests stop a child process with SIGINT, as Ctrl-C would. A shell that starts a
job in the background without job control (`cmd &` in a script) starts it with SIGINT
ignored, and an ignored signal stays ignored across exec: every child would then ignore
its Ctrl-C, and those tests would hang. The runner takes SIGINT back here, so children
start with its default.
"""

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
