"""The sparse decoder equals the dense one, forward and both gradients, in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from music_runtime.training import layers
from tcn_wta import decoders
from tcn_wta import model as model_lib


def _random_winners(rng, shape, num_atoms, k, ties):
  h = rng.normal(size=(*shape, num_atoms))
  if ties:  # few distinct values: top_k must break ties by index, as the dense k-WTA does
    h = np.round(h)
  values, indices = jax.lax.top_k(jnp.asarray(h), k)
  return values, indices


@pytest.mark.parametrize("num_atoms,k,ties", [(12, 3, False), (12, 5, True), (7, 7, False),
                                              (7, 7, True), (30, 1, False)])
def test_sparse_decoder_equals_dense_with_gradients(num_atoms, k, ties):
  rng = np.random.default_rng(k * num_atoms)
  with jax.enable_x64(True):
    values, indices = _random_winners(rng, (2, 5), num_atoms, k, ties)
    dictionary = jnp.asarray(rng.normal(size=(num_atoms, 3, 4)))
    target = jnp.asarray(rng.normal(size=(2, 15, 4)))

    def sparse_loss(values, dictionary):
      return jnp.sum(jnp.sin(decoders.decode_sparse(values, indices, dictionary) - target))

    def dense_loss(values, dictionary):
      code = layers.winners_to_code(values, indices, num_atoms)
      return jnp.sum(jnp.sin(decoders.decode_dense(code, dictionary) - target))

    np.testing.assert_allclose(decoders.decode_sparse(values, indices, dictionary),
                               decoders.decode_dense(
                                   layers.winners_to_code(values, indices, num_atoms), dictionary),
                               rtol=1e-12, atol=1e-12)
    sparse_grads = jax.jit(jax.grad(sparse_loss, argnums=(0, 1)))(values, dictionary)
    dense_grads = jax.jit(jax.grad(dense_loss, argnums=(0, 1)))(values, dictionary)
    for ours, theirs in zip(sparse_grads, dense_grads):
      assert ours.dtype == jnp.float64
      np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_repeated_indices_add_their_values():
  """An index given twice contributes both values (a scatter-add, not a scatter-set)."""
  with jax.enable_x64(True):
    dictionary = jnp.arange(3 * 2 * 1, dtype=jnp.float64).reshape(3, 2, 1)
    values = jnp.array([[2.0, 3.0]])
    indices = jnp.array([[1, 1]])
    np.testing.assert_array_equal(decoders.decode_sparse(values, indices, dictionary)[:, 0],
                                  5.0 * dictionary[1, :, 0])
    grad = jax.grad(lambda d: jnp.sum(decoders.decode_sparse(values, indices, d)))(dictionary)
    np.testing.assert_array_equal(grad[:, :, 0], [[0, 0], [5, 5], [0, 0]])


@pytest.mark.parametrize("ties", [False, True])
def test_model_gradients_do_not_depend_on_the_decoder(ties):
  """The whole autoencoder (TCN, k-WTA, decoder): the same loss and parameter gradients."""
  rng = np.random.default_rng(3)
  with jax.enable_x64(True):
    x = jnp.asarray(rng.random((2, 16, 5)))
    nets = {name: model_lib.TcnWta(channels=5, num_atoms=9, patch=4, tcn_features=(6,),
                                   decoder=name) for name in ("dense", "sparse")}
    params = nets["dense"].init(jax.random.PRNGKey(0), x, 3)["params"]
    params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), params)
    if ties:  # atoms 0-2 and 3-4 share their encoder weights: equal activations, tied winners
      copies = np.array([0, 0, 0, 3, 3, 5, 6, 7, 8])
      to_atoms = params["to_atoms"]
      params = {**params, "to_atoms": {"kernel": to_atoms["kernel"][..., copies],
                                       "bias": to_atoms["bias"][copies]}}
    results = {}
    for name, net in nets.items():
      def loss(params, net=net):
        recon, code = net.apply({"params": params}, x, 3)
        return jnp.sum((recon - x) ** 2) + 0.1 * jnp.sum(code)
      results[name] = jax.jit(jax.value_and_grad(loss))(params)
    np.testing.assert_allclose(results["sparse"][0], results["dense"][0], rtol=1e-12)
    for ours, theirs in zip(jax.tree_util.tree_leaves(results["sparse"][1]),
                            jax.tree_util.tree_leaves(results["dense"][1])):
      np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_auto_picks_sparse_only_for_a_small_fraction_of_winners():
  assert decoders.use_sparse("auto", 8, 1000)
  assert not decoders.use_sparse("auto", 75, 1000)
  assert decoders.use_sparse("sparse", 75, 1000)
  assert not decoders.use_sparse("dense", 1, 1000)
  with pytest.raises(ValueError, match="Unknown decoder 'sprase'"):
    decoders.use_sparse("sprase", 1, 10)


def test_training_steps_do_not_depend_on_the_decoder_or_the_kwta():
  """Three Adam steps on MAESTRO-shaped events: the threshold k-WTA trains bit for bit as top_k
  does; the sparse decoder to float32 rounding (its sums run in another order)."""
  import importlib  # pylint: disable=import-outside-toplevel
  from music_runtime.training import sharding  # pylint: disable=import-outside-toplevel
  from tcn_wta.tools import benchmark  # pylint: disable=import-outside-toplevel
  from tcn_wta.training import train  # pylint: disable=import-outside-toplevel
  config = importlib.import_module("configs.maestro").get_config()
  config.model.num_atoms, config.model.tcn_features = 40, (4, 6)
  config.data.window, config.data.train_hop, config.batch_size = 32, 4, 4
  pool = benchmark.synthetic_pool(config, 388, np.random.default_rng(0), num_rows=400)
  k = 35  # layers.uses_threshold(35, 40): the threshold search runs under "auto"
  config.model.k.k_start = config.model.k.k_end = k
  trained = {}
  for name, fields in (("top_k", dict(decoder="dense", kwta="top_k")),
                       ("threshold", dict(decoder="dense", kwta="threshold")),
                       ("sparse", dict(decoder="sparse"))):
    net = train.build_model(config, 388).clone(**fields)
    state = train.create_state(config, net)
    step_fn = train.make_train_step(config, net, sharding.make_mesh(1))
    for _ in range(3):
      state, _ = step_fn(state, pool, jax.random.PRNGKey(0), k)
    trained[name] = jax.tree_util.tree_leaves(state["params"])
  for ours, theirs in zip(trained["threshold"], trained["top_k"]):
    np.testing.assert_array_equal(ours, theirs)
  for ours, theirs in zip(trained["sparse"], trained["top_k"]):
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("field,value", [("decoder", "sprase"), ("kwta", "topk")])
def test_config_refuses_an_unknown_decoder_or_kwta(field, value):
  import importlib  # pylint: disable=import-outside-toplevel
  from tcn_wta.training import config_checks  # pylint: disable=import-outside-toplevel
  config = importlib.import_module("configs.groove").get_config()
  config_checks.validate(config)
  config.model[field] = value
  with pytest.raises(config_checks.ConfigError, match=f"config.model.{field}"):
    config_checks.validate(config)
