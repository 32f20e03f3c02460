"""One experiment: the runner, metrics, resources, MLflow tracking, saved models, predict, export."""
