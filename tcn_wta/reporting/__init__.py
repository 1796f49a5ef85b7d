"""tcn_wta.reporting: REPORT.md / report.json (report, report_text) and the figures."""
