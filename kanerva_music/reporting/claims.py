"""The linear DKM report's claims: the paper's (section 4) and the targets that make a memory a
memory, each decided against a threshold in THRESHOLDS."""

from music_runtime.files import report_format as fmt
from music_runtime.files.claims import Claim

THRESHOLDS = {
    "elbo_within_bits": 0.1,          # |ours - 0.76| bits per step per voice
    "denoise_points": 0.01,           # no decay (last >= it 1 - this); converged by it 3
    "denoised_exact": 0.9,            # "almost the original"
    "half_within_step": 0.5,          # "mostly" off by at most a whole step
    "stored_minus_unseen": 0.2,       # the memory remembers
}


def exact_and_within_step(metrics, index=-1) -> str:
  """'exact / within a whole step' of a DKM metric dict (lists) or a baseline's (floats)."""
  pick = lambda v: v[index] if isinstance(v, list) else v
  return f"{fmt.pct(pick(metrics['acc_exact']))} / {fmt.pct(pick(metrics['acc_2']))}"


def paper_claims(report, config) -> list:
  """[Claim] of the paper's claims and the memory's targets, from report.json's sections."""
  t, ex2 = THRESHOLDS, exact_and_within_step
  read, iters = config.model.read_method, config.eval.num_iters
  elbo = report["elbo_bits_per_dim"]["test"]
  den = report["denoise"]
  comp, base = report["complete"], report["baselines"]
  half, tq = comp["half"][read], comp["three_quarters"][read]
  den_base = base["denoise"]
  exact = den["acc_exact"]
  points = t["denoise_points"]
  no_decay = exact[iters] >= exact[1] - points
  converged = abs(exact[min(3, iters)] - exact[iters]) < points
  stored_minus_unseen = report["memory_use"]["half_exact_stored_minus_unseen"]
  hold = base["half"]["hold_last_chord"]
  final_exact = lambda m: m["recall"]["acc_exact"][-1]
  claims = [
      Claim("test negative conditional ELBO, bits per step per voice (4.2)",
            f"{elbo['mean']:.3f} +- {elbo['stderr']:.3f}", "-",
            abs(elbo["mean"] - 0.76) <= t["elbo_within_bits"],
            f"within {t['elbo_within_bits']:g}", paper="0.76 +- 0.002"),
      Claim("denoising converges after about 3 iterations (4.3)",
            "exact " + ", ".join(f"it {i}: {fmt.pct(exact[i])}" for i in (0, 1, 3, iters)),
            f"median filter {fmt.pct(den_base['median_filter']['acc_exact'])}",
            no_decay and converged,
            f"no decay: it {iters} >= it 1 - {100 * points:g} point; it 3 within "
            f"{100 * points:g} point of it {iters}", paper="yes"),
      Claim("denoised output almost the original (4.3)", ex2(den),
            f"cue {ex2(den_base['cue'])}; nearest stored {ex2(den_base['nearest_stored'])}",
            den["acc_exact"][-1] >= t["denoised_exact"],
            f"exact >= {fmt.pct(t['denoised_exact'], 0)}", paper="yes"),
      Claim("half masked: notes off by at most a whole step (4.4)",
            f"stored {ex2(half['recall'])}; unseen {ex2(half['novel'])}",
            f"hold last chord {ex2(hold['recall'])}; nearest stored "
            f"{ex2(base['half']['nearest_stored']['recall'])}",
            half["recall"]["acc_2"][-1] > t["half_within_step"],
            f"stored within a step > {fmt.pct(t['half_within_step'], 0)}", paper="mostly"),
      Claim("the memory remembers: stored beats holding the last chord and unseen",
            f"stored - unseen {100 * stored_minus_unseen:+.1f} points; memory KL "
            f"{report['memory_use']['kl_memory_per_dim']:.3g} nats/dim",
            f"hold last chord {fmt.pct(hold['recall']['acc_exact'])}",
            (stored_minus_unseen >= t["stored_minus_unseen"]
             and final_exact(half) > hold["recall"]["acc_exact"]),
            f"by >= {100 * t['stored_minus_unseen']:g} points", paper="(perfect recall, 5)"),
      Claim("three quarters masked: no longer similar (4.4)", f"stored {ex2(tq['recall'])}",
            f"hold last chord {ex2(base['three_quarters']['hold_last_chord']['recall'])}",
            final_exact(tq) < final_exact(half), "below half masked", paper="yes"),
      Claim("unmasked (original DKM) read fails at completion (4.4)",
            f"half, stored: unmasked {ex2(comp['half']['unmasked']['recall'])} vs masked "
            f"{ex2(half['recall'])}", "-",
            final_exact(comp["half"]["unmasked"]) < final_exact(half), paper="yes"),
      Claim("QR (lstsq) better than Cholesky for completion (3.1)",
            f"half, stored: lstsq {ex2(comp['half']['lstsq']['recall'])}, dm_cholesky "
            f"{ex2(comp['half']['dm_cholesky']['recall'])}", "-",
            final_exact(comp["half"]["lstsq"]) > final_exact(comp["half"]["dm_cholesky"]),
            paper="yes"),
  ]
  if "capacity" in report:
    claims.append(Claim("capacity: no more than 32 episodes (5)",
                        "half, stored, exact: " + ", ".join(
                            f"T={size}: {fmt.pct(v['acc_exact'])}"
                            for size, v in report["capacity"].items()), "-", None, paper="-"))
  budget = report.get("budget", {}).get("16384")
  if budget and "dkm_lstsq" in budget:
    largest = lambda family: budget.get(family, {}).get("largest_t", 0)
    memory = max(largest("dkm_lstsq"), largest("dkm_attention"))
    claims.append(Claim(
        "beyond the paper: in 16 KB (the paper's memory's bytes) the memory holds more episodes "
        "than a list",
        f"largest T recalled >= 90% (half, stored): lstsq {largest('dkm_lstsq')}, attention "
        f"{largest('dkm_attention')}",
        f"list of pitch bytes {largest('list_pitch_bytes')}, lzma {largest('list_lzma')}",
        memory > largest("list_pitch_bytes"), paper="-"))
  return claims
