"""embedlab's Hydra launchers: the maintained Ray and SLURM (submitit) plugins, with one change each."""
