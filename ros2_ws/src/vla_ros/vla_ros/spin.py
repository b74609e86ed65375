"""Running a node as a process: Ctrl-C and SIGTERM both end the spin between callbacks, then
destroy_node runs (the recorder finalizes its dataset, the bridge closes its renderer).

`kill -USR1 <pid>` prints every thread's Python stack to stderr (the node keeps running): the first
thing to look at when a node stops answering."""

from __future__ import annotations

import faulthandler
import signal
import threading
from collections.abc import Callable


def run(make_node: Callable, args: list[str] | None = None) -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    # rclpy's own handlers shut the context down under a running callback ("publisher's context is
    # invalid"); here a signal only sets a flag that the loop checks between callbacks (at least every
    # 0.1 s, since a blocked wait would never let a Python signal handler run).
    stop = threading.Event()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # C-level handler: works inside a blocked wait
    node = None
    try:
        node = make_node()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


def run_lifecycle(node_class: Callable, args: list[str] | None = None) -> None:
    """`run` a lifecycle node that configures and activates itself when its `autostart` parameter is true
    (no lifecycle manager needed)."""

    def make():
        node = node_class()
        if node.get_parameter("autostart").value:
            node.trigger_configure()
            node.trigger_activate()
        return node

    run(make, args)
