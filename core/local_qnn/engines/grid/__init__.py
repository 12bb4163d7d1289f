"""Grid reconfiguration engine: radial AC power flow and switching search."""
