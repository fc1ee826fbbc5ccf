"""C{python -m netsuite.client ...}: the C{netsuite} console script without installing it."""

import sys

from netsuite.client.main import main

sys.exit(main())
