"""Each Ruthotto–Haber block type against a plain implementation of the paper's equations
(written here, independently of the generator), with the same weights; and reversibility."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import pde2net

FAMILIES = """
pde parabolic(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = -K' relu(N(K u))
}
pde hamiltonian(c) {
    state  y[c/2]
    state  z[c/2]
    weight K1 : conv(3x3, c/2 -> c/2)
    weight K2 : conv(3x3, c/2 -> c/2)
    norm   N1 : tvnorm(c/2, eps = 1e-3)
    norm   N2 : tvnorm(c/2, eps = 1e-3)
    dt(y) = -K1' relu(N1(K1 z))
    dt(z) = K2' relu(N2(K2 y))
}
pde second_order(c) {
    state  u[c]
    weight K : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dtt(u) = -K' relu(N(K u))
}
pde resnet(c) {
    state  u[c]
    weight K1 : conv(3x3, c -> c)
    weight K2 : conv(3x3, c -> c)
    norm   N : tvnorm(c, eps = 1e-3)
    dt(u) = K2 relu(N(K1 u))
}
"""


def _spec(
    tmp_path: Path, block: str, scheme: str, steps: int, h: float = 0.5, shared: bool = False
):
    spec = tmp_path / "net.pde"
    extra = ", shared = true" if shared else ""
    spec.write_text(
        FAMILIES
        + "network net {\n  input image(6, 12, 12)\n"
        + f"  {block}(6) by {scheme}(h = {h}, steps = {steps}{extra})\n  output identity\n}}\n"
    )
    compiled = pde2net.compile_file(str(spec))
    module = compiled.module.double().eval()
    # Randomise the norms' scale and bias so that they matter in the comparison.
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith(("weight", "bias")) and p.dim() == 1:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
    return module.block1


def tv_norm(y: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-3):
    """N_tv(Y) = Y / sqrt(Σ_channels Y² + ε), then a per-channel scale and bias."""
    y = y / torch.sqrt((y**2).sum(dim=1, keepdim=True) + eps)
    return y * scale[None, :, None, None] + bias[None, :, None, None]


def sym(y, k, norm):
    """F_sym(Y) = Kᵀ σ(N(K Y)) without the sign, σ = ReLU, Kᵀ the transposed conv."""
    return F.conv_transpose2d(torch.relu(norm(F.conv2d(y, k, padding=1))), k, padding=1)


def _norm(block, attr: str, j: int):
    layer = getattr(block, attr)[j]
    return lambda y: tv_norm(y, layer.weight, layer.bias)


@pytest.mark.parametrize("shared", [False, True])
def test_parabolic_is_forward_euler_on_the_symmetric_layer(tmp_path, shared):
    block = _spec(tmp_path, "parabolic", "euler", steps=3, shared=shared)
    x = torch.randn(2, 6, 12, 12, dtype=torch.float64)
    y = x.clone()
    for j in range(3):
        i = 0 if shared else j
        y = y - 0.5 * sym(y, block.K[i], _norm(block, "N", i))
    assert len(block.K) == (1 if shared else 3)
    torch.testing.assert_close(block(x), y, rtol=1e-12, atol=1e-12)


def test_hamiltonian_is_verlet_with_the_new_y(tmp_path):
    block = _spec(tmp_path, "hamiltonian", "verlet", steps=3)
    x = torch.randn(2, 6, 12, 12, dtype=torch.float64)
    y, z = x[:, :3], x[:, 3:]
    for j in range(3):
        y = y - 0.5 * sym(z, block.K1[j], _norm(block, "N1", j))
        z = z + 0.5 * sym(y, block.K2[j], _norm(block, "N2", j))
    torch.testing.assert_close(block(x), torch.cat([y, z], 1), rtol=1e-12, atol=1e-12)


def test_second_order_is_leapfrog_started_at_rest(tmp_path):
    block = _spec(tmp_path, "second_order", "leapfrog", steps=3)
    x = torch.randn(2, 6, 12, 12, dtype=torch.float64)
    y_prev, y = x, x  # Y₋ = Y₀, so ∂ₜY(0) = 0
    for j in range(3):
        y, y_prev = 2 * y - y_prev - 0.25 * sym(y, block.K[j], _norm(block, "N", j)), y
    torch.testing.assert_close(block(x), y, rtol=1e-12, atol=1e-12)


def test_resnet_block_has_independent_weights(tmp_path):
    block = _spec(tmp_path, "resnet", "euler", steps=3)
    x = torch.randn(2, 6, 12, 12, dtype=torch.float64)
    y = x.clone()
    for j in range(3):
        inner = _norm(block, "N", j)(F.conv2d(y, block.K1[j], padding=1))
        y = y + 0.5 * F.conv2d(torch.relu(inner), block.K2[j], padding=1)
    torch.testing.assert_close(block(x), y, rtol=1e-12, atol=1e-12)
    assert not torch.equal(block.K1[0], block.K2[0])


@pytest.mark.parametrize("scheme", ["verlet", "leapfrog"])
def test_inverse_reconstructs_the_input_over_many_steps(tmp_path, scheme):
    block_type = "hamiltonian" if scheme == "verlet" else "second_order"
    spec = tmp_path / "net.pde"
    spec.write_text(
        FAMILIES
        + "network net {\n  input image(6, 12, 12)\n"
        + f"  {block_type}(6) by {scheme}(h = 0.2, steps = 16)\n  output identity\n}}\n"
    )
    block = pde2net.compile_file(str(spec)).module.eval().block1
    x = torch.randn(3, 6, 12, 12)
    with torch.no_grad():
        if scheme == "verlet":
            out = block(x)
            back = block.inverse(out)
        else:
            out, out_prev = block.forward_pair(x, x)
            back, back_prev = block.inverse(out, out_prev)
            torch.testing.assert_close(back_prev, x, rtol=0, atol=1e-4)
    assert (out - x).abs().max() > 1e-2  # the block really moved the state
    # float32 round-off, relative to the size of the states
    assert (back - x).abs().max() <= 1e-5 * max(1.0, float(out.abs().max()))


def test_odd_channel_count_for_a_hamiltonian_block_is_a_located_error(tmp_path):
    spec = tmp_path / "net.pde"
    spec.write_text(
        FAMILIES + "network net {\n  input image(7, 12, 12)\n"
        "  hamiltonian(7) by verlet(h = 1, steps = 3)\n  output identity\n}\n"
    )
    with pytest.raises(pde2net.api.SpecError) as info:
        pde2net.check_file(str(spec))
    err = info.value
    assert (err.loc.line, err.loc.column) == (FAMILIES.count("\n") + 3, 3)
    assert "7/2" in err.message and "even" in err.message
