"""The command line: a thin shell over patron.project; results are rendered, never printed inside."""
