"""`python -m trawl.crawlers.forwarder <attempt_dir>`."""

from __future__ import annotations

import os
import sys

from trawl.crawlers.forwarder.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
