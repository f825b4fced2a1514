"""Training panels: panel data (numpy), matplotlib charts, the HTML report."""
