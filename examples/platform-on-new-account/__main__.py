"""The whole platform in an empty AWS account: the stack creates the VPC and the EKS cluster, then n8n on it.

The same program as the repository's own stacks (``n8n_platform.program.main``); ``cluster.create`` in the stack
file is what makes it build the cluster first (settings validated before anything is registered).
"""

import sys

from n8n_platform import SettingsError
from n8n_platform.program import main

try:
    main()
except SettingsError as error:  # names every key to fix
    print(error, file=sys.stderr)
    sys.exit(1)
