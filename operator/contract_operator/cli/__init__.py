"""The `contract-operator` command line: one module per subcommand, registered by cli.main."""
