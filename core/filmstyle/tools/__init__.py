"""Tools around the engine: benchmark, demo, contact sheets, metrics and reports, Nuke export."""
