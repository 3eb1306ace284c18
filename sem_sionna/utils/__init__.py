"""sem_sionna.utils: plumbing shared by every floor (imports nothing else of sem_sionna).

- :mod:`~sem_sionna.utils.io` -- atomic file writes, stable value formatting, CSV/JSON;
- :mod:`~sem_sionna.utils.log` -- the ``sem_sionna`` logger and its tqdm-safe handler;
- :mod:`~sem_sionna.utils.errors` -- :class:`NumericalError`;
- :mod:`~sem_sionna.utils.seeding` -- the one way to derive a seed from ``--seed`` and a key;
- :mod:`~sem_sionna.utils.checks` -- argument checks that name the bad argument;
- :mod:`~sem_sionna.utils.scalars` -- the scalar-argument mechanism of the layers;
- :mod:`~sem_sionna.utils.batches` -- the batched-inference helper.
"""
from sem_sionna.utils.batches import map_batches
from sem_sionna.utils.checks import (check_complex, check_last_dim, check_noise_variance,
                                     check_num_bits_per_symbol, check_positive_int,
                                     check_probability, check_range, check_rank, check_real)
from sem_sionna.utils.errors import NumericalError
from sem_sionna.utils.io import (atomic_write, atomic_write_json, atomic_write_text,
                                 format_value, parse_value, read_csv, read_csv_raw,
                                 remove_stale_temp_files, to_jsonable, to_scalar, write_csv)
from sem_sionna.utils.log import configure_logging, logger
from sem_sionna.utils.scalars import ScalarArgsLayer, is_tensor, to_float_tensor
from sem_sionna.utils.seeding import derive_seed, reseed, set_global_seed

__all__ = [
    "NumericalError",
    "ScalarArgsLayer",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "check_complex",
    "check_last_dim",
    "check_noise_variance",
    "check_num_bits_per_symbol",
    "check_positive_int",
    "check_probability",
    "check_range",
    "check_rank",
    "check_real",
    "configure_logging",
    "derive_seed",
    "format_value",
    "is_tensor",
    "logger",
    "map_batches",
    "parse_value",
    "read_csv",
    "read_csv_raw",
    "remove_stale_temp_files",
    "reseed",
    "set_global_seed",
    "to_float_tensor",
    "to_jsonable",
    "to_scalar",
    "write_csv",
]
