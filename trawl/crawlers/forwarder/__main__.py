"""`python -m trawl.crawlers.forwarder <attempt_dir>`."""

from __future__ import annotations

import os
import signal
import sys

if __name__ == "__main__" and os.environ.get("TRAWL_FORWARDER_MODE") == "pod":
    # Kubelet may send SIGTERM while the imports below still run; in a pod it must not end
    # the forwarder (forwarder.app says why), so it is ignored until main() handles it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

from trawl.crawlers.forwarder.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
