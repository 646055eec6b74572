"""Entry point `pulumi up` runs: everything lives in the n8n_platform library."""

import sys

from n8n_platform.program import main
from n8n_platform.schema import SettingsError

try:
    main()
except SettingsError as error:  # a user error: the message names every key to fix, a traceback would bury it
    print(error, file=sys.stderr)
    sys.exit(1)
