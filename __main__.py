import sys

from dotmock.cli import main

sys.exit(main())
