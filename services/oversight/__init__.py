"""The personnel office's view: statistics, half-yearly reports, inspection, feedback, compliance."""
