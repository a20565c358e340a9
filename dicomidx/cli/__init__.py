"""The command line: one module per command group, the console, and the error boundary."""
