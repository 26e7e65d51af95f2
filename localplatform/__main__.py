"""`python -m localplatform`: serve the local AI Platform with gevent's WSGI server."""

from gevent import monkey

# Before anything else: locks, sleeps and sockets (requests to an upstream) must be cooperative.
monkey.patch_all()

import sys  # noqa: E402

from localplatform.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
