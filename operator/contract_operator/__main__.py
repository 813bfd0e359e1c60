"""`python -m contract_operator` is the `contract-operator` command."""

import sys

from contract_operator.cli.main import main

sys.exit(main())
