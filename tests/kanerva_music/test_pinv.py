"""The lstsq read's two pseudo-inverses against a float64 SVD oracle."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kanerva_music.evaluation import evaluate
from kanerva_music.memory import dkm
from kanerva_music.memory import pinv

K, STEPS = 32, 32
C = 4 * STEPS


def _oracle(a, rcond):
  return np.linalg.pinv(np.asarray(a, np.float64), rcond=rcond)


def _masked(mean, mask):
  return (mask[:, None] * mean.T).astype(np.float32)


def _memory_of_condition(rng, kappa, num_observed):
  """A mean [K, C] whose observed block has singular values geometric from 1 to 1 / kappa."""
  left = np.linalg.qr(rng.normal(size=(num_observed, K)))[0]
  right = np.linalg.qr(rng.normal(size=(K, K)))[0]
  observed = (left * np.geomspace(1.0, 1.0 / kappa, K)) @ right
  return np.concatenate([observed, rng.normal(size=(C - num_observed, K))]).T


def _relative_error(ours, oracle):
  return np.max(np.abs(np.asarray(ours, np.float64) - oracle)) / np.max(np.abs(oracle))


@pytest.mark.parametrize("kappa", [3.0, 30.0, 100.0, 300.0])
def test_cholesky_pinv_is_as_close_to_the_oracle_as_the_svd(kappa):
  """Well conditioned (the fast path): within 2x the float32 SVD's own error."""
  rng = np.random.default_rng(int(kappa))
  mask = (np.arange(C) < C // 2).astype(np.float32)
  rcond = pinv.default_rcond(C, K, np.float32)
  errors = {"svd": [], "cholesky": []}
  for _ in range(4):
    a = _masked(_memory_of_condition(rng, kappa, C // 2), mask)
    oracle = _oracle(a, rcond)
    errors["svd"].append(_relative_error(jax.jit(pinv.svd_pinv)(a, rcond), oracle))
    errors["cholesky"].append(_relative_error(jax.jit(pinv.cholesky_pinv)(a, rcond), oracle))
  assert max(errors["cholesky"]) <= 2 * max(errors["svd"]) + 1e-6, errors


@pytest.mark.parametrize("kappa", [3.0, 30.0, 100.0])
def test_the_bound_holds_and_admits_well_conditioned_memories(kappa):
  a = _masked(_memory_of_condition(np.random.default_rng(2), kappa, C // 2),
              (np.arange(C) < C // 2).astype(np.float32))
  gram = a.T @ a
  bound = float(pinv.squared_condition_bound(gram, np.linalg.inv(np.linalg.cholesky(gram))))
  assert kappa**2 * (1 - 1e-3) <= bound <= pinv.CHOLESKY_MAX_BOUND


@pytest.mark.parametrize("rank", [1, 8, 31])
def test_rank_deficient_memories_take_the_svd(rank):
  """The bound is infinite or huge: the result is the SVD's, bit for bit."""
  rng = np.random.default_rng(rank)
  mean = rng.normal(size=(K, rank)) @ rng.normal(size=(rank, C))
  a = _masked(mean, (np.arange(C) < 3 * C // 4).astype(np.float32))
  rcond = pinv.default_rcond(C, K, np.float32)
  ours = jax.jit(pinv.cholesky_pinv)(a, rcond)
  np.testing.assert_array_equal(ours, jax.jit(pinv.svd_pinv)(a, rcond))
  assert _relative_error(ours, _oracle(a, rcond)) < 1e-4


def test_an_ill_conditioned_memory_takes_the_svd():
  rng = np.random.default_rng(0)
  a = _masked(_memory_of_condition(rng, 3000.0, C // 2),
              (np.arange(C) < C // 2).astype(np.float32))
  rcond = pinv.default_rcond(C, K, np.float32)
  np.testing.assert_array_equal(jax.jit(pinv.cholesky_pinv)(a, rcond),
                                jax.jit(pinv.svd_pinv)(a, rcond))


def test_nothing_observed_reads_zero():
  a = np.zeros((C, K), np.float32)
  np.testing.assert_array_equal(jax.jit(pinv.cholesky_pinv)(a, 1e-5), np.zeros((K, C)))


@pytest.mark.parametrize("mask_name", evaluate.MASKS)
def test_lstsq_solvers_agree_at_the_reports_masks(mask_name):
  """Completion by iterate_read at every mask the report scores, on memories written from
  random episodes (trained-looking conditioning): the two solvers agree to float32 tolerance."""
  rng = np.random.default_rng(7)
  means = rng.normal(size=(3, K, C)).astype(np.float32)
  mask = evaluate.observation_mask(mask_name, 3, STEPS, np.random.default_rng(1))
  cues = rng.normal(size=(3, 8, C)).astype(np.float32)
  reads = {}
  for solver in dkm.LSTSQ_SOLVERS:
    one = lambda mean, x, m, s=solver: dkm.iterate_read(
        dkm.Memory(mean, jnp.eye(K)), x, m, num_iters=2, obs_noise_std=0.1, method="lstsq",
        lstsq_solver=s)
    reads[solver] = np.asarray(jax.jit(lambda *a: dkm.map_memories(one, *a))(means, cues, mask))
  scale = np.max(np.abs(reads["svd"]))
  assert np.max(np.abs(reads["cholesky"] - reads["svd"])) <= 1e-5 * scale


def test_unknown_lstsq_solver_is_refused():
  with pytest.raises(ValueError, match="Unknown lstsq solver 'qr'"):
    dkm.solve_address(np.eye(2, 4, dtype=np.float32), np.ones(4, np.float32),
                      obs_noise_std=1.0, method="lstsq", lstsq_solver="qr")


@pytest.mark.parametrize("solver", ["svd", "eigh", "cholesky"])
def test_benchmark_numpy_lstsq_reads_compute_the_jitted_read(solver):
  """The benchmark's NumPy baselines compute the read they are timed against (one memory is
  rank-deficient, so the Cholesky one falls back to the SVD for it)."""
  from kanerva_music.tools import benchmark  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(11)
  means = rng.normal(size=(3, K, C))
  means[1] = rng.normal(size=(K, 4)) @ rng.normal(size=(4, C))
  cues = rng.normal(size=(3, 5, C))
  mask = (np.arange(C) < C // 2).astype(np.float64)
  rcond = dkm.default_rcond(C, K, np.float32)
  theirs = benchmark.numpy_complete(means, cues, mask, "lstsq", 0.1, rcond, solver)
  with jax.enable_x64(True):
    for jitted_solver in dkm.LSTSQ_SOLVERS:
      ours = benchmark.jitted_complete("lstsq", 0.1, rcond, jitted_solver)(
          means, cues, np.broadcast_to(mask, (3, C)))
      np.testing.assert_allclose(theirs, np.asarray(ours), rtol=1e-7, atol=1e-7)


def test_a_mask_per_cue_gives_each_cue_its_own_pseudo_inverse():
  """Masks [Q, C] (one factorisation per cue, mapped, not vmapped): each cue's address is the
  one its own mask gives alone."""
  rng = np.random.default_rng(4)
  mean = rng.normal(size=(K, C)).astype(np.float32)
  cues = rng.normal(size=(6, C)).astype(np.float32)
  masks = (rng.random((6, C)) < 0.5).astype(np.float32)
  solve = lambda x, m: dkm.solve_address(mean, x, m, obs_noise_std=0.1, method="lstsq",
                                         lstsq_solver="cholesky")
  solve = jax.jit(solve)
  together = np.asarray(solve(cues, masks))
  for cue, mask, ours in zip(cues, masks, together):
    np.testing.assert_allclose(ours, solve(cue, mask), rtol=1e-5, atol=1e-6)
    oracle = _oracle(_masked(mean, mask), pinv.default_rcond(C, K, np.float32)) @ (mask * cue)
    np.testing.assert_allclose(ours, oracle, rtol=1e-4, atol=1e-5)


def _svd_outside_cond_branches(jaxpr):
  """Whether an svd equation runs other than inside a branch of a `cond` (recursively)."""
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "svd":
      return True
    if eqn.primitive.name == "cond":
      continue
    for param in eqn.params.values():
      inner = getattr(param, "jaxpr", None)
      if inner is not None and _svd_outside_cond_branches(getattr(inner, "jaxpr", inner)):
        return True
  return False


def _half_masked_lstsq(mean, cues, mask):
  return dkm.solve_address(mean, cues, mask, obs_noise_std=0.1, method="lstsq",
                           lstsq_solver="cholesky") @ mean


def test_the_vmapped_lstsq_read_equals_the_mapped_one_and_the_oracle_in_a_mixed_batch():
  """Well-conditioned memories and rank-deficient ones in one batch, under jax.vmap."""
  rng = np.random.default_rng(11)
  mask = (np.arange(C) < C // 2).astype(np.float32)
  means = [_memory_of_condition(rng, kappa, C // 2) for kappa in (3.0, 30.0, 100.0)]
  deficient = rng.normal(size=(K, C))
  deficient[8:] = deficient[:8].sum(0) * 0.5  # rank 9
  means = np.stack(means + [deficient]).astype(np.float32)
  cues = rng.normal(size=(4, 6, C)).astype(np.float32)
  masks = np.broadcast_to(mask, (4, C))
  vmapped = np.asarray(jax.jit(jax.vmap(_half_masked_lstsq))(means, cues, masks))
  mapped = np.asarray(jax.jit(lambda *a: dkm.map_memories(_half_masked_lstsq, *a))(
      means, cues, masks))
  np.testing.assert_allclose(vmapped, mapped, rtol=0, atol=1e-5 * np.abs(mapped).max())
  rcond = pinv.default_rcond(C, K, np.float32)
  for m in range(4):
    a = means[m].T * mask[:, None]
    oracle = cues[m] * mask @ _oracle(a, rcond).T @ means[m].astype(np.float64)
    assert _relative_error(vmapped[m], oracle) < 1e-3, m
  nested = np.asarray(jax.jit(jax.vmap(jax.vmap(_half_masked_lstsq)))(
      means.reshape(2, 2, K, C), cues.reshape(2, 2, 6, C), masks.reshape(2, 2, C)))
  np.testing.assert_allclose(nested.reshape(vmapped.shape), vmapped, rtol=0,
                             atol=1e-5 * np.abs(mapped).max())


def test_the_vmapped_cholesky_read_takes_no_svd_unless_an_element_needs_one():
  rng = np.random.default_rng(12)
  means = rng.normal(size=(3, K, C)).astype(np.float32)
  cues = rng.normal(size=(3, 4, C)).astype(np.float32)
  masks = np.broadcast_to((np.arange(C) < C // 2).astype(np.float32), (3, C))
  jaxpr = jax.make_jaxpr(jax.vmap(_half_masked_lstsq))(means, cues, masks).jaxpr
  assert not _svd_outside_cond_branches(jaxpr)
  nested = jax.make_jaxpr(jax.vmap(jax.vmap(_half_masked_lstsq)))(
      means.reshape(3, 1, K, C), cues.reshape(3, 1, 4, C), masks.reshape(3, 1, C)).jaxpr
  assert not _svd_outside_cond_branches(nested)
  # the gradient is the one-memory program's (to float32 summation order: batched products
  # reassociate, by up to 4e-5 relative on a few entries of 4,096 on a 1-thread pool)
  loss = lambda m: jnp.sum(_half_masked_lstsq(m, cues[0], masks[0]) ** 2)
  np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(loss)))(means)[0],
                             jax.jit(jax.grad(loss))(means[0]), rtol=2e-4, atol=1e-5)
