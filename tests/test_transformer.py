"""The small transformer and its task (lrcourse.training.transformer), against independent
oracles: torch's scaled_dot_product_attention, torch.optim.AdamW, the arithmetic of Z_p."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lrcourse.training import transformer as tr


def test_task_is_every_pair_once_with_the_right_answer():
    p = 7
    task = tr.modular_addition(p, 0.5, 0.25, seed=3)
    X = torch.cat([task.X_train, task.X_val, task.X_test])
    y = torch.cat([task.y_train, task.y_val, task.y_test])
    pairs = {(int(a), int(b)) for a, b, _ in X}
    assert pairs == {(a, b) for a in range(p) for b in range(p)}
    assert torch.equal(y, (X[:, 0] + X[:, 1]) % p)
    assert bool((X[:, 2] == p).all())                                   # the "=" token
    assert (len(task.y_train), len(task.y_val)) == (round(0.5 * 49), round(0.25 * 49))
    other = tr.modular_addition(p, 0.5, 0.25, seed=4)
    assert not torch.equal(task.X_train, other.X_train)


def test_task_rejects_bad_fractions():
    with pytest.raises(ValueError, match="Invalid fractions"):
        tr.modular_addition(7, 0.8, 0.3)


def test_shapes():
    model = tr.Transformer(12, 11, d_model=16, n_heads=2, n_layers=2, seed=[0, 1, 2])
    tokens = torch.randint(0, 12, (5, 3))
    assert model(tokens).shape == (3, 5, 3, 11)
    assert tr.Transformer(12, 11, d_model=16, n_heads=2)(tokens).shape == (1, 5, 3, 11)
    with pytest.raises(ValueError, match="multiple of n_heads"):
        tr.Transformer(12, 11, d_model=10, n_heads=4)
    with pytest.raises(ValueError, match="longer than max_len"):
        model(torch.zeros(2, 4, dtype=torch.long))


def test_attention_equals_torch_sdpa():
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 4, 5, 8, generator=gen, dtype=torch.float64) for _ in range(3))
    ours = tr.causal_attention(q, k, v)
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(ours, theirs, atol=1e-12)


def test_causal_a_later_token_never_changes_an_earlier_position():
    model = tr.Transformer(10, 10, d_model=16, n_heads=4, n_layers=2, max_len=5, seed=[0, 1], dtype=torch.float64)
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 10, (6, 5), generator=gen)
    base = model(tokens)
    for j in range(5):
        changed = tokens.clone()
        changed[:, j] = (changed[:, j] + 1 + torch.randint(0, 8, (6,), generator=gen)) % 10
        out = model(changed)
        assert torch.equal(out[:, :, :j], base[:, :, :j])               # positions before j: identical
        assert not torch.allclose(out[:, :, j:], base[:, :, j:])        # j and later do see it


def test_members_are_independent_models_and_seeded():
    tokens = torch.randint(0, 9, (4, 3), generator=torch.Generator().manual_seed(2))
    together = tr.Transformer(9, 8, seed=[5, 6], dtype=torch.float64)
    alone = [tr.Transformer(9, 8, seed=s, dtype=torch.float64) for s in (5, 6)]
    out = together(tokens)
    for k in range(2):
        assert torch.allclose(out[k], alone[k](tokens)[0], atol=1e-12)
    again = tr.Transformer(9, 8, seed=5, dtype=torch.float64)
    assert all(torch.equal(a, b) for a, b in zip(again.parameters(), alone[0].parameters()))
    assert not torch.equal(out[0], out[1])


def test_train_stacked_is_torch_adamw_per_member():
    """Member k of the stacked trainer = torch.optim.AdamW on Transformer(seed=s_k) alone, with
    its own schedule lr[k, t] and weight decay (float64, 1e-10)."""
    task = tr.modular_addition(5, 0.6, 0.2, seed=0)
    steps, kw = 6, dict(d_model=8, n_heads=2)
    lr = np.array([np.linspace(1e-3, 5e-3, steps), np.full(steps, 2e-2)])
    wds, seeds = [0.5, 0.0], [3, 4]
    run = tr.train_stacked(task, lr, wds, seeds, steps=steps, eval_every=steps, dtype=torch.float64, **kw)
    for k in range(2):
        model = tr.Transformer(task.vocab, task.p, seed=seeds[k], dtype=torch.float64, **kw)
        opt = torch.optim.AdamW(model.parameters(), lr=lr[k, 0], betas=(0.9, 0.98), weight_decay=wds[k])
        for t in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr[k, t]
            opt.zero_grad()
            F.cross_entropy(model(task.X_train)[0, :, -1], task.y_train).backward()
            opt.step()
        with torch.no_grad():
            z = model(task.X_val)[0, :, -1]
        assert abs(F.cross_entropy(z, task.y_val).item() - run.val_loss[k, -1]) < 1e-10
        assert abs((z.argmax(-1) == task.y_val).double().mean().item() - run.val_acc[k, -1]) < 1e-12


def test_train_stacked_is_deterministic():
    task = tr.modular_addition(5, 0.6, 0.2, seed=0)
    lr = np.full((2, 4), 1e-2)
    a, b = (tr.train_stacked(task, lr, 0.1, [0, 1], steps=4, eval_every=2, d_model=8, n_heads=2) for _ in range(2))
    assert np.array_equal(a.val_loss, b.val_loss) and np.array_equal(a.train_acc, b.train_acc)


@pytest.mark.slow
def test_it_learns_modular_addition_on_a_small_p():
    """p = 11, 70 % of the pairs to train on: AdamW with a cosine decay from 1e-2 reaches 100 %
    training accuracy within 600 full-batch steps, and more than 4× chance (1/11) on the pairs it
    never saw (it has at least learned that a + b = b + a)."""
    task = tr.modular_addition(11, 0.7, 0.15, seed=0)
    steps = 600
    lr = 1e-2 * 0.5 * (1 + np.cos(np.pi * np.arange(steps) / steps))
    run = tr.train_stacked(task, lr[None], 1.0, [0], steps=steps, eval_every=steps, d_model=32, n_heads=4)
    assert run.train_acc[0, -1] == 1.0
    assert run.val_acc[0, -1] > 4 / 11 and run.test_acc[0, -1] > 4 / 11


def test_train_one_with_a_schedule_free_optimizer():
    from lrcourse.optim import AdamWScheduleFree

    task = tr.modular_addition(7, 0.6, 0.2, seed=0)
    model = tr.Transformer(task.vocab, task.p, d_model=16, n_heads=2, seed=0)
    opt = AdamWScheduleFree(model.parameters(), lr=1e-2)
    res = tr.train_one(model, opt, task.X_train, task.y_train,
                       (task.X_val, task.y_val, task.X_test, task.y_test), steps=200, answer_only=True)
    assert res.train_acc == 1.0
    assert not opt.param_groups[0]["train_mode"]  # left in eval mode: the averaged weights
