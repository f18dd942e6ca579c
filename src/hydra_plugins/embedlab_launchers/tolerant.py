"""The Ray and SLURM launchers of hydra-ray-launcher and hydra-submitit-launcher, except that one lost job does not
end the sweep.

Both plugins collect their jobs' results in order and raise at the first job that did not return (a Ray worker or
node that died after Ray's retries, a SLURM job cancelled, preempted or out of time): the sweep then stops waiting
for the others and never writes its results table. Here a lost job becomes a failed job of the sweep: it is listed
with why it was lost, the other jobs are waited for, the table and report are written, and the sweep exits 1, so a
rerun with resume=true retries only what did not complete. `launch` is the plugins' own (hydra-ray-launcher 1.2.2,
hydra-submitit-launcher 1.2.0, MIT licence) up to its last line, which gathers the results tolerantly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from omegaconf import OmegaConf, open_dict

log = logging.getLogger(__name__)

try:  # each plugin is an optional extra ('embedlab[ray]', 'embedlab[slurm]'); define what is installed
    from hydra_plugins.hydra_ray_launcher.ray_launcher import RayLauncher
except ImportError:  # pragma: no cover - the dev extra installs both
    RayLauncher = None  # type: ignore[assignment,misc]
try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
except ImportError:  # pragma: no cover
    SlurmLauncher = None  # type: ignore[assignment,misc]


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[:2])[:300] if text else type(exc).__name__


if RayLauncher is not None:

    class TolerantRayLauncher(RayLauncher):
        """hydra-ray-launcher's RayLauncher; a job Ray gives up on is a failed job, not the end of the sweep."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            import ray
            from hydra_plugins.hydra_ray_launcher._launcher_util import launch_job_on_ray, start_ray

            from embedlab.studies.sweep import lost_job

            setup_globals()
            assert self.config is not None and self.hydra_context is not None and self.task_function is not None
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
            sweep_dir = Path(str(self.config.hydra.sweep.dir))
            sweep_dir.mkdir(parents=True, exist_ok=True)
            log.info(f"Ray Launcher is launching {len(job_overrides)} jobs, sweep output dir: {sweep_dir}")
            start_ray(self.ray_cfg.init)
            launched: list[tuple[Any, Any]] = []
            for idx, overrides in enumerate(job_overrides):
                idx = initial_job_idx + idx
                log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
                sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                with open_dict(sweep_config):
                    sweep_config.hydra.job.id = f"job_id_for_{idx}"
                    sweep_config.hydra.job.num = idx
                    ref = launch_job_on_ray(
                        self.hydra_context, self.ray_cfg.remote, sweep_config, self.task_function, Singleton.get_state()
                    )
                launched.append((sweep_config, ref))
            results = []
            for sweep_config, ref in launched:
                try:
                    results.append(ray.get(ref))
                except ray.exceptions.RayError as exc:  # worker or node died (after Ray's retries), cancelled, OOM
                    results.append(lost_job(sweep_config, f"Ray lost the job: {type(exc).__name__}: {first_line(exc)}"))
            return results


if SlurmLauncher is not None:

    class TolerantSlurmLauncher(SlurmLauncher):
        """hydra-submitit-launcher's SlurmLauncher; a job SLURM lost (cancelled, preempted, out of time, node
        failure) is a failed job, not the end of the sweep."""

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            import submitit
            from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

            from embedlab.studies.sweep import lost_job

            assert self.config is not None and self.hydra_context is not None
            assert len(job_overrides) > 0
            init_params = {"folder": self.params["submitit_folder"]}
            specific_init_keys = {"max_num_timeout"}
            init_params.update(
                **{f"{self._EXECUTOR}_{x}": y for x, y in self.params.items() if x in specific_init_keys}
            )
            init_keys = specific_init_keys | {"submitit_folder"}
            executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init_params)
            baseparams = set(OmegaConf.structured(BaseQueueConf).keys())
            params = {
                x if x in baseparams else f"{self._EXECUTOR}_{x}": y
                for x, y in self.params.items()
                if x not in init_keys
            }
            executor.update_parameters(**params)
            log.info(f"Submitit '{self._EXECUTOR}' sweep output dir : {self.config.hydra.sweep.dir}")
            sweep_dir = Path(str(self.config.hydra.sweep.dir))
            sweep_dir.mkdir(parents=True, exist_ok=True)
            if "mode" in self.config.hydra.sweep:
                os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
            job_params: list[Any] = []
            for idx, overrides in enumerate(job_overrides):
                idx = initial_job_idx + idx
                log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
                job_params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))
            jobs = executor.map_array(self, *zip(*job_params, strict=True))
            results = []
            for job, (overrides, _, idx, _, _) in zip(jobs, job_params, strict=True):
                try:
                    results.append(job.results()[0])
                except (submitit.core.utils.UncompletedJobError, submitit.core.utils.FailedJobError) as exc:
                    sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
                    with open_dict(sweep_config):
                        sweep_config.hydra.job.num = idx
                    why = f"SLURM job {job.job_id} ended {job.state}: {first_line(exc)}"
                    results.append(lost_job(sweep_config, why))
            return results
