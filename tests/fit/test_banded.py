import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.fit.banded import block_banded_cholesky, block_banded_solve


def random_banded(F, n, w, seed):
    """A random SPD block-banded matrix: its blocks and the dense matrix."""
    g = torch.Generator().manual_seed(seed)
    A = torch.zeros(F * n, F * n, dtype=torch.float64)
    for t in range(F):  # A = B B^T with B block lower-banded: H is block-banded of half-width w
        for k in range(0, w // 2 + 1 if w else 1):
            if t - k >= 0:
                A[t * n:(t + 1) * n, (t - k) * n:(t - k + 1) * n] = torch.randn(n, n, generator=g, dtype=torch.float64)
    H = A @ A.T + 0.5 * torch.eye(F * n, dtype=torch.float64)
    blocks = H.reshape(F, n, F, n).permute(0, 2, 1, 3)
    diagonal = torch.stack([blocks[t, t] for t in range(F)])
    upper = [torch.stack([blocks[t, t + k] for t in range(F - k)]) if F > k else torch.zeros(0, n, n, dtype=torch.float64)
             for k in range(1, w + 1)]
    for t in range(F):  # nothing outside the band
        for s in range(F):
            if abs(t - s) > w:
                assert float(blocks[t, s].abs().max()) == 0.0
    return diagonal, upper, H


@pytest.mark.parametrize("F,n,w", [(1, 3, 2), (2, 4, 2), (7, 5, 2), (9, 3, 1), (6, 4, 0), (12, 6, 4)])
def test_solve_matches_dense(F, n, w):
    diagonal, upper, H = random_banded(F, n, w, seed=F * 10 + w)
    g = torch.Generator().manual_seed(1)
    rhs = torch.randn(F, n, generator=g, dtype=torch.float64)
    factor = block_banded_cholesky(diagonal, upper)
    x = block_banded_solve(factor, rhs)
    expected = torch.linalg.solve(H, rhs.flatten()).reshape(F, n)
    torch.testing.assert_close(x, expected)


def test_indefinite_matrix_gives_none():
    diagonal, upper, _ = random_banded(4, 3, 2, seed=3)
    diagonal = diagonal.clone()
    diagonal[2] = -diagonal[2]
    assert block_banded_cholesky(diagonal, upper) is None


def test_mismatched_band_raises():
    diagonal, upper, _ = random_banded(5, 3, 2, seed=4)
    with pytest.raises(InputError):
        block_banded_cholesky(diagonal, [upper[0][:-1], upper[1]])
