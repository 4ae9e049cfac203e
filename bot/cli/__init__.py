"""The command line: `python -m bot COMMAND`, its console output, doctor and backup."""
