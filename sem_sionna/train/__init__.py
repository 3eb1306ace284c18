"""Training: generic compiled loop with checkpoints and strategies, weight store, schedules."""
from sem_sionna.train.loop import Trainer, format_eta, strategy_scope
from sem_sionna.train.store import WeightStore, config_hash

__all__ = ["Trainer", "WeightStore", "config_hash", "format_eta", "strategy_scope"]
