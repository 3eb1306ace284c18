"""Training: generic compiled loop with checkpoints and strategies, weight store, schedules."""
from sem_sionna.train.classifier import train_classifier
from sem_sionna.train.loop import Trainer, format_eta, strategy_scope
from sem_sionna.train.split import train_channel_stage, train_deepjscc_stage, train_source_stage
from sem_sionna.train.store import WeightStore, config_hash
from sem_sionna.train.vimco import bernoulli_log_prob, vimco_learning_signals, vimco_loss

__all__ = [
    "Trainer",
    "train_classifier",
    "WeightStore",
    "bernoulli_log_prob",
    "config_hash",
    "format_eta",
    "strategy_scope",
    "train_channel_stage",
    "train_deepjscc_stage",
    "train_source_stage",
    "vimco_learning_signals",
    "vimco_loss",
]
