"""The exit status CI gates on, the same for `plan`, `provision` and `report`: when several
findings apply, the first of 1, 4, 2, 3, 5 wins (the worst first, then what the next step
fixes). 2 is also every command's status for a usage error."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1  # errors: broken wires, conflicts, invalid contracts, refusals, unreadable
EXIT_MISSING = 2  # declared topics not on the broker yet (`provision` or the operator creates)
EXIT_DRIFT = 3  # existing topics differ from their contracts (reported, never altered)
EXIT_UNSAFE_DRIFT = 4  # an existing topic keeps fewer copies or less data than declared
EXIT_UNOWNED = 5  # topics on the broker no contract publishes, and nothing else wrong


def exit_status(
    *,
    errors: bool,
    unsafe_drift: bool = False,
    missing: bool = False,
    drift: bool = False,
    unowned: bool = False,
) -> int:
    if errors:
        return EXIT_ERROR
    if unsafe_drift:
        return EXIT_UNSAFE_DRIFT
    if missing:
        return EXIT_MISSING
    if drift:
        return EXIT_DRIFT
    if unowned:
        return EXIT_UNOWNED
    return EXIT_OK
