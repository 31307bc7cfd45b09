"""``mvmocap adapt``: self-supervised adaptation of a learned regressor to the user's own captures (#24).

The collaborative loop of Li, Oskarsson & Heyden (../shared/papers/collaborative-mv-smplify.md):
the regressor initialises multi-view SMPLify, the fits (a SPIN-style cache of the best fit per
frame) supervise the regressor, repeat. Modules: ``captures`` (reconstruct folders read back),
``fit_cache``, ``losses`` (the paper's eq. 1-6), ``steps`` (refit, loss, evaluation), ``loop``
(the run: schedule, metrics, checkpoints, resume), ``config``.

Floor 6 (with train): it reads the regressors only through :mod:`mvmocap.methods`
(``adaptation_methods``).
"""

from mvmocap.adapt.config import AdaptConfig
from mvmocap.adapt.loop import adapt, run

__all__ = ["AdaptConfig", "adapt", "run"]
