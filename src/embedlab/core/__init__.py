"""The bottom layer every stage may use: errors, atomic JSON writes, the run-directory contract, the analysis memo,
config locations and the config schema check."""
