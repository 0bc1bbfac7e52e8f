"""ICLRNN and baseline networks (PyTorch), their constraints and certificates.

* :func:`make_network` builds any kind: ``iclrnn``, ``icrnn``, ``lrnn``, ``rnn``,
  ``lstm`` (sequence to sequence) and ``ficnn`` (feed-forward, static maps).
* Every network has ``export_spec()`` (numpy weights, docs/INTERFACES.md) and
  ``project_()`` (enforce its constraints exactly).
* :func:`certify` checks convexity from the weights and bounds the Lipschitz constant.
"""

from iclcontrol.models.certificate import Certificate, certify
from iclcontrol.models.constraints import project_spectral_, spectral_norm
from iclcontrol.models.networks import (
    FICNN,
    KINDS,
    ElmanNetwork,
    LSTMNetwork,
    NetworkConfig,
    make_network,
    network_from_config,
)

__all__ = [
    "FICNN",
    "KINDS",
    "Certificate",
    "ElmanNetwork",
    "LSTMNetwork",
    "NetworkConfig",
    "certify",
    "make_network",
    "network_from_config",
    "project_spectral_",
    "spectral_norm",
]
