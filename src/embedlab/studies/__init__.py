"""Stage 5, studies: MLflow tracking, the results table over run directories, the report, the sweep's Hydra
callbacks."""
