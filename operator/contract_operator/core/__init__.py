"""Pure rules over contracts: naming, wiring and the problems they report. No I/O."""
